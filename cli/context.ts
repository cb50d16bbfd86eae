/** Opens what a command needs: the store for reads, a core for writes. */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SettlementCore, SqliteLedgerStore } from '../settlement-core/index.ts';
import { loadKeys } from './keys.ts';

export interface GlobalOptions {
  data: string;
  db?: string;
  keys?: string;
  json?: boolean;
}

export const dbPath = (o: GlobalOptions): string => o.db ?? join(o.data, 'tapsettle.db');
export const keysPath = (o: GlobalOptions): string => o.keys ?? join(o.data, 'keys.json');

export async function withStore<T>(o: GlobalOptions, fn: (store: SqliteLedgerStore) => Promise<T>): Promise<T> {
  const store = new SqliteLedgerStore({ path: dbPath(o) });
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

const operatorKey = randomBytes(32);

export async function withCore<T>(o: GlobalOptions, fn: (core: SettlementCore) => Promise<T>): Promise<T> {
  const keys = loadKeys(keysPath(o));
  mkdirSync(dirname(dbPath(o)), { recursive: true });
  const core = await SettlementCore.open({
    store: new SqliteLedgerStore({ path: dbPath(o) }),
    issuerMasterKey: keys.issuerMasterKey,
    // Operator commands never answer a device; the gateway tags results with the registry's versioned keys.
    deviceKey: () => operatorKey,
    scheduler: false,
  });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}
