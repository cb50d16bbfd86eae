import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { emoneyErrorCodes, emoneyLimits, emoneyReasons } from '../../../settlement-core/emoney/index.ts';
import { emoneyRouteErrors } from '../../../gateway/http/emoney-routes.ts';

const ledgerMd = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'ledger.md'), 'utf8');
const section = ledgerMd.slice(ledgerMd.indexOf('## 15. E-money'));

it('docs/ledger.md §15 lists every e-money reason, error code and limit', () => {
  expect(section.length).toBeGreaterThan(1000);
  for (const name of [...emoneyReasons, ...emoneyErrorCodes, ...Object.keys(emoneyRouteErrors), ...Object.keys(emoneyLimits)]) {
    expect(section, name).toContain(`\`${name}\``);
  }
});
