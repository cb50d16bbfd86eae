/**
 * E-money (claims 34–35) on the sharded store: the same suite as on SQLite
 * and PostgreSQL, on three SQLite servers. The suite's customers live on
 * branches 100–101 (server 1), the float's money and the tokens on server 0
 * (the e-money server): every issuance there is a mint leg from server 1 to
 * server 0, every deposit a payout from server 0 to server 1.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../fixtures.ts';
import { openSqliteSharded } from '../sharded/helpers.ts';
import { emoneySuite } from './emoney-suite.ts';

emoneySuite('the sharded store (3 SQLite servers)', () => {
  const t = tempDir('tapsettle-emoney-sharded-');
  return {
    open: (name) => {
      const dir = join(t.dir, name);
      mkdirSync(dir, { recursive: true });
      return openSqliteSharded(dir, 3);
    },
    cleanup: () => Promise.resolve(t.cleanup()),
  };
});
