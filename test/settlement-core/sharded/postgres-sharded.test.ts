/**
 * The sharded store on PostgreSQL: three schemas of one database as three
 * servers. The store contract, the e-money suite, and the core settling
 * across them with the global audit. Needs TAPSETTLE_PG_URL; every schema
 * is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { LedgerStore } from '../../../settlement-core/index.ts';
import { openShardedStore } from '../../../settlement-core/store/sharded/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, balanceOf, makeRequest, settleOk, tempDir } from '../fixtures.ts';
import { emoneySuite } from '../emoney/emoney-suite.ts';
import { ledgerStoreContract } from '../store-contract.ts';
import { openShardedCore, seedShardedStation, testDirectory } from './helpers.ts';

const url = process.env.TAPSETTLE_PG_URL ?? '';
if (!url) console.warn('postgres-sharded.test.ts skipped: TAPSETTLE_PG_URL is not set (CI sets postgres://postgres@127.0.0.1:5432/test)');

const schemas: string[] = [];
afterAll(async () => {
  if (!url || schemas.length === 0) return;
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await c.end();
  }
});

/** Three fresh schemas (ts_sharded_<random>_<i>) and a directory file in a temp dir. */
function freshPgSharded(): { open: () => ShardedLedgerStore; cleanup: () => void } {
  const base = `ts_sharded_${randomBytes(5).toString('hex')}`;
  const names = [0, 1, 2].map((i) => `${base}_${i}`);
  schemas.push(...names);
  const t = tempDir('tapsettle-sharded-pg-');
  return {
    open: () => openShardedStore({
      servers: names.map((schema) => ({ kind: 'postgres' as const, connectionString: url, schema, poolSizeMax: 3 })),
      directoryPath: join(t.dir, 'directory.db'), directory: testDirectory(3),
    }),
    cleanup: t.cleanup,
  };
}

describe.skipIf(!url)('sharded store on PostgreSQL schemas', () => {
  ledgerStoreContract('sharded, 3 PostgreSQL schemas', () => {
    const f = freshPgSharded();
    let store: LedgerStore = f.open();
    return Promise.resolve({
      get store() {
        return store;
      },
      async reopen() {
        await store.close();
        store = f.open();
        await store.migrate();
        return store;
      },
      async cleanup() {
        await store.close();
        f.cleanup();
      },
    });
  });

  emoneySuite('the sharded store (3 PostgreSQL schemas)', () => {
    const f = freshPgSharded();
    return { open: () => f.open(), cleanup: () => Promise.resolve(f.cleanup()) };
  });

  it('settles between schemas and passes the global audit', async () => {
    const f = freshPgSharded();
    const clock = new Clock();
    const core = await openShardedCore(f.open(), { clock: clock.read });
    try {
      const s = await seedShardedStation(core, clock, [1000, 1000, 1000]);
      for (const w of s.wallets) expect((await settleOk(s, makeRequest(s, w, { amount: 123 }))).result.status).toBe('approved');
      await core.drain();
      expect(await balanceOf(core, s.merchant)).toBe(369);
      const report = (await core.audit()) as ShardedAuditReport;
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.inFlight.count).toBe(0);
    } finally {
      await core.close();
      f.cleanup();
    }
  }, 60_000);
});
