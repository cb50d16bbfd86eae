/** E-money (claims 34–35) on the SQLite store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedgerStore } from '../../../settlement-core/index.ts';
import { emoneySuite } from './emoney-suite.ts';

emoneySuite('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapsettle-emoney-'));
  return {
    open: (name) => new SqliteLedgerStore({ path: join(dir, `${name}.db`) }),
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
});
