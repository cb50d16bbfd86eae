import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { SqliteLedgerStore } from '../../settlement-core/index.ts';
import { tempDir } from './fixtures.ts';
import { fileStoreHandle, ledgerStoreContract } from './store-contract.ts';

ledgerStoreContract('SQLite', () => fileStoreHandle('tapsettle-store-', (path) => new SqliteLedgerStore({ path })));

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
