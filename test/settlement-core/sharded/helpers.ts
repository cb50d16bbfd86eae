/** Sharded stores for tests: N SQLite files (or PostgreSQL schemas) in a temp dir, with a directory that puts branches 100 and 500 on different servers. */
import { join } from 'node:path';
import type { DirectoryConfig, ShardServerConfig, ShardedLedgerStore, ShardedStoreFaults } from '../../../settlement-core/store/sharded/index.ts';
import { openShardedStore } from '../../../settlement-core/store/sharded/index.ts';

/** Server 0: branches 001–099 (and the registry); server 1: 100–299; server 2…: 300–999 split evenly. */
export function testDirectory(n: number, hot: string[] = []): DirectoryConfig {
  if (n === 1) return { servers: [{ name: 's0' }], ranges: [{ from: 1, to: 999, server: 0 }], hot };
  const ranges = [{ from: 1, to: 99, server: 0 }, { from: 100, to: 299, server: 1 }];
  const rest = n - 2;
  if (rest === 0) ranges[1]!.to = 999;
  const per = Math.ceil(700 / Math.max(1, rest));
  for (let i = 0; i < rest; i += 1) ranges.push({ from: 300 + i * per, to: Math.min(999, 300 + (i + 1) * per - 1), server: 2 + i });
  return { servers: Array.from({ length: n }, (_, i) => ({ name: `s${i}` })), ranges, hot };
}

export function sqliteServers(dir: string, n: number): ShardServerConfig[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'sqlite' as const, path: join(dir, `server-${i}.db`) }));
}

export function openSqliteSharded(dir: string, n: number, o: { hot?: string[]; faults?: ShardedStoreFaults } = {}): ShardedLedgerStore {
  return openShardedStore({
    servers: sqliteServers(dir, n), directoryPath: join(dir, 'directory.db'), directory: testDirectory(n, o.hot ?? []),
    ...(o.faults ? { faults: o.faults } : {}),
  });
}
