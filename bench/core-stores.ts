/**
 * The stores bench:core can run on: `--store sqlite` (default), `--store
 * postgres` (TAPSETTLE_PG_URL, a fresh schema dropped afterwards), `--store
 * sharded --servers N` (N SQLite files, branches split evenly). `--hot`
 * sends every payment to one merchant, marked hot on the sharded store.
 * `--threads` serves each SQLite file from its own worker thread
 * (WorkerLedgerStore; sharded servers `thread: true`).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { PgLedgerStore, SqliteLedgerStore } from '../settlement-core/index.ts';
import type { LedgerStore } from '../settlement-core/index.ts';
import { evenDirectory, markHot, openShardedStore } from '../settlement-core/store/sharded/index.ts';
import type { ShardedLedgerStore } from '../settlement-core/store/sharded/index.ts';
import { WorkerLedgerStore } from '../settlement-core/store/worker/index.ts';
import type { WorkerStoreStats } from '../settlement-core/store/worker/index.ts';
import { flag, option } from './lib.ts';

export type StoreKind = 'sqlite' | 'postgres' | 'sharded';

export function stringOption<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = process.argv[i + 1] as T;
  if (!allowed.includes(value)) {
    console.error(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return value;
}

export interface BenchStore {
  kind: StoreKind;
  servers: number;
  hot: boolean;
  store: LedgerStore;
  /** Branch of the i-th of `n` merchants: spread over the servers, so uniform payments cross servers as often as they would. */
  merchantBranch(i: number, n: number): number;
  /** After seeding: mark the merchant hot (sharded store). */
  afterSeed(merchant: string): Promise<void>;
  cleanup(): Promise<void>;
  label: string;
  /** SQLite files served from worker threads (`--threads`). */
  threads: boolean;
  /** Each worker-thread file's call statistics so far (none without `--threads`). */
  workerStats(): WorkerStoreStats[];
}

export function benchStoreFromArgs(dir: string): BenchStore {
  const kind = stringOption('store', ['sqlite', 'postgres', 'sharded'] as const, 'sqlite');
  const servers = kind === 'sharded' ? option('servers', 1) : 1;
  const hot = flag('hot');
  const threads = flag('threads');
  const spread = (i: number, n: number) => 1 + Math.floor(((i + 0.5) * 999) / n);
  const statsOf = (stores: readonly LedgerStore[]) => () => stores.flatMap((s) => (s instanceof WorkerLedgerStore ? [s.stats()] : []));
  if (kind === 'sqlite') {
    const path = join(dir, 'core.db');
    const store = threads ? new WorkerLedgerStore({ path }) : new SqliteLedgerStore({ path });
    return {
      kind, servers, hot, store, merchantBranch: () => 900, afterSeed: () => Promise.resolve(), cleanup: () => Promise.resolve(),
      label: threads ? 'SQLite in a worker thread' : 'SQLite', threads, workerStats: statsOf([store]),
    };
  }
  if (kind === 'postgres') {
    const url = process.env.TAPSETTLE_PG_URL;
    if (!url) {
      console.error('--store postgres needs TAPSETTLE_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
      process.exit(2);
    }
    const schema = `ts_bench_${randomBytes(5).toString('hex')}`;
    return {
      kind, servers, hot, store: new PgLedgerStore({ connectionString: url, schema }), merchantBranch: () => 900, afterSeed: () => Promise.resolve(),
      label: 'PostgreSQL', threads: false, workerStats: () => [],
      async cleanup() {
        const c = new Client({ connectionString: url });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
      },
    };
  }
  const store: ShardedLedgerStore = openShardedStore({
    servers: Array.from({ length: servers }, (_, i) => ({ kind: 'sqlite' as const, path: join(dir, `server-${i}.db`), thread: threads })),
    directoryPath: join(dir, 'directory.db'), directory: evenDirectory(servers),
  });
  return {
    kind, servers, hot, store, merchantBranch: spread, threads, workerStats: statsOf(store.servers),
    label: `sharded, ${servers} SQLite server${servers > 1 ? 's' : ''}${threads ? ' in worker threads' : ''}`,
    afterSeed: (merchant) => (hot ? markHot(store, merchant) : Promise.resolve()),
    cleanup: () => Promise.resolve(),
  };
}
