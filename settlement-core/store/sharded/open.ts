/**
 * openShardedStore: the sharded store from a configuration — the servers
 * (SQLite files or PostgreSQL schemas, through the existing stores) and the
 * directory file. This is what the CLI and gateway configuration choose.
 */
import { z } from 'zod';
import type { LedgerStore } from '../ledger-store.ts';
import { PgLedgerStore } from '../postgres/pg-store.ts';
import { SqliteLedgerStore } from '../sqlite/sqlite-store.ts';
import { WorkerLedgerStore } from '../worker/worker-store.ts';
import { Directory } from './directory.ts';
import type { DirectoryConfig } from './directory.ts';
import { ShardedStoreError } from './errors.ts';
import { ShardedLedgerStore } from './sharded-store.ts';
import type { ShardedStoreFaults, ShardedStoreLimits } from './sharded-store.ts';

const ServerConfig = z.discriminatedUnion('kind', [
  /** `thread: true`: the file is served from its own worker thread (store/worker/), so servers commit in parallel. */
  z.strictObject({ kind: z.literal('sqlite'), path: z.string().min(1), cacheKiB: z.number().int().min(1024).optional(), thread: z.boolean().optional() }),
  z.strictObject({
    kind: z.literal('postgres'), connectionString: z.string().min(1), schema: z.string().min(1),
    poolSizeMax: z.number().int().optional(), statementTimeoutMs: z.number().int().optional(),
  }),
]);
export type ShardServerConfig = z.infer<typeof ServerConfig>;

const OpenOptions = z.strictObject({
  /** One per server, in the directory's order. */
  servers: z.array(ServerConfig).min(1),
  /** The directory file (SQLite); created from `directory` the first time. */
  directoryPath: z.string().min(1),
  /** The directory to start with; on later opens it must name the same servers. */
  directory: z.unknown().optional(),
});

export interface OpenShardedStoreOptions {
  servers: ShardServerConfig[];
  directoryPath: string;
  directory?: DirectoryConfig;
  limits?: Partial<ShardedStoreLimits>;
  faults?: ShardedStoreFaults;
}

export function openShardedStore(options: OpenShardedStoreOptions): ShardedLedgerStore {
  const { limits, faults, ...rest } = options;
  const parsed = OpenOptions.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ShardedStoreError('TS_ERR_SHARDED_OPTION', `sharded store option ${issue.path.join('.')}: ${issue.message}`);
  }
  const directory = Directory.open(parsed.data.directoryPath, options.directory);
  if (directory.serverCount !== parsed.data.servers.length) {
    directory.close();
    throw new ShardedStoreError('TS_ERR_SHARDED_OPTION', `the directory names ${directory.serverCount} servers, ${parsed.data.servers.length} are configured`);
  }
  const servers: LedgerStore[] = parsed.data.servers.map((s) => (s.kind === 'sqlite'
    ? new (s.thread === true ? WorkerLedgerStore : SqliteLedgerStore)({ path: s.path, ...(s.cacheKiB !== undefined ? { cacheKiB: s.cacheKiB } : {}) })
    : new PgLedgerStore({
      connectionString: s.connectionString, schema: s.schema,
      ...(s.poolSizeMax !== undefined ? { poolSizeMax: s.poolSizeMax } : {}), ...(s.statementTimeoutMs !== undefined ? { statementTimeoutMs: s.statementTimeoutMs } : {}),
    })));
  return new ShardedLedgerStore({ servers, directory, ...(limits ? { limits } : {}), ...(faults ? { faults } : {}) });
}

/** A directory of `n` servers splitting branches 001–999 into `n` even ranges (tests, benchmarks, a first configuration). */
export function evenDirectory(n: number, names = Array.from({ length: n }, (_, i) => `s${i}`)): DirectoryConfig {
  const per = Math.ceil(999 / n);
  return {
    servers: names.map((name) => ({ name })),
    ranges: names.map((_, i) => ({ from: 1 + i * per, to: Math.min(999, (i + 1) * per), server: i })).filter((r) => r.from <= r.to),
  };
}
