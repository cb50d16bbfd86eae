/** The LedgerStore contract on the sharded store: three SQLite servers, branch 100 on server 1, branch 500 on server 2, the registry on server 0. */
import { describe } from 'vitest';
import type { LedgerStore } from '../../../settlement-core/index.ts';
import { tempDir } from '../fixtures.ts';
import { ledgerStoreContract } from '../store-contract.ts';
import { openSqliteSharded } from './helpers.ts';

describe('sharded store (SQLite servers)', () => {
  for (const n of [1, 3]) {
    ledgerStoreContract(`sharded, ${n} SQLite server${n > 1 ? 's' : ''}`, () => {
      const t = tempDir('tapsettle-sharded-');
      let store: LedgerStore = openSqliteSharded(t.dir, n);
      return Promise.resolve({
        get store() {
          return store;
        },
        async reopen() {
          await store.close();
          store = openSqliteSharded(t.dir, n);
          await store.migrate();
          return store;
        },
        async cleanup() {
          await store.close();
          t.cleanup();
        },
      });
    });
  }
});
