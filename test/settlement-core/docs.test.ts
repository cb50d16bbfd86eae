import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { reasonCodes } from '../../protocol/index.ts';
import { coreErrorCodes, journalStates, transferKinds } from '../../settlement-core/index.ts';

const ledgerMd = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'ledger.md'), 'utf8');

it('docs/ledger.md lists every reason code, core error code, journal state and transfer kind', () => {
  for (const code of [...reasonCodes, ...coreErrorCodes, 'TS_ERR_INVARIANT', ...journalStates, ...transferKinds]) {
    expect(ledgerMd, code).toContain(`\`${code}\``);
  }
});
