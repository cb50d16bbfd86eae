import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cardCaptureDevice, cardLedgerReasons, cardLedgerStatuses, cardReversalDevice, cardReversalReasons, issuerHttpErrors, reversalStatuses } from '../../../settlement-core/cards/index.ts';

const page = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'card-settlement.md'), 'utf8');

it('docs/card-settlement.md lists every card ledger reason, status, reversal reason and status, the issuer\'s 409 codes, the account and transfer kinds', () => {
  const names = [
    ...cardLedgerReasons, ...cardLedgerStatuses, ...cardReversalReasons, ...reversalStatuses, cardCaptureDevice, cardReversalDevice,
    ...Object.entries(issuerHttpErrors).filter(([, status]) => status === 409).map(([code]) => code),
    'card-receivable', 'card-capture', 'card-reversal', 'TS_ERR_CURRENCY', 'TS_ERR_INVALID_ARGUMENT',
  ];
  for (const name of names) expect(page, name).toContain(`\`${name}\``);
});
