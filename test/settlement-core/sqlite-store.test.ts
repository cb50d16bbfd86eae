import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { SqliteLedgerStore } from '../../settlement-core/index.ts';
import type { LedgerStore } from '../../settlement-core/index.ts';
import { tempDir } from './fixtures.ts';
import { ledgerStoreContract } from './store-contract.ts';

ledgerStoreContract('SQLite', () => {
  const t = tempDir('tapsettle-store-');
  const path = join(t.dir, 'ledger.db');
  let store: LedgerStore = new SqliteLedgerStore({ path });
  const handle = {
    get store() {
      return store;
    },
    async reopen() {
      await store.close();
      store = new SqliteLedgerStore({ path });
      await store.migrate();
      return store;
    },
    async cleanup() {
      await store.close();
      t.cleanup();
    },
  };
  return Promise.resolve(handle);
});

it('runs with synchronous=FULL and WAL, and refuses :memory:', async () => {
  const t = tempDir();
  try {
    const store = new SqliteLedgerStore({ path: join(t.dir, 'x.db') });
    await store.migrate();
    await store.close();
    const raw = new Database(join(t.dir, 'x.db'), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    expect(() => new SqliteLedgerStore({ path: ':memory:' })).toThrow(/file path/);
  } finally {
    t.cleanup();
  }
});
