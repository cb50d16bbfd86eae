/** Sharded stores for tests: N SQLite files (or PostgreSQL schemas) in a temp dir, with a directory that puts branches 100 and 500 on different servers. */
import { join } from 'node:path';
import type { DirectoryConfig, ShardServerConfig, ShardedLedgerStore, ShardedStoreFaults } from '../../../settlement-core/store/sharded/index.ts';
import { openShardedStore } from '../../../settlement-core/store/sharded/index.ts';
import { SettlementCore } from '../../../settlement-core/index.ts';
import type { CoreOptions } from '../../../settlement-core/index.ts';
import { deviceKey, issuerMasterKey } from '../fixtures.ts';
import type { Clock, Station, TestWallet } from '../fixtures.ts';

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


/** Branches whose customers live on server 0, 1 and 2 of testDirectory(3); the merchant is on branch 500 (server 2). */
export const customerBranches = [20, 100, 500];

export async function openShardedCore(store: ShardedLedgerStore, options: Partial<CoreOptions> = {}): Promise<SettlementCore> {
  return SettlementCore.open({ store, issuerMasterKey, deviceKey, scheduler: false, ...options });
}

/** EUR, one merchant (branch 500) with a vending machine, and funded customers spread over the servers. */
export async function seedShardedStation(core: SettlementCore, clock: Clock, balances: number[], merchantBranch = 500): Promise<Station> {
  await core.initCurrency('EUR');
  const merchant = (await core.openAccount({ kind: 'merchant', branch: merchantBranch, currency: 'EUR', name: 'Station shop' })).id;
  const device = 'vm-1';
  await core.registerDevice({ id: device, kind: 'vending', merchant });
  const accounts = await core.openAccounts(balances.map((_, i) => ({ kind: 'customer' as const, branch: customerBranches[i % customerBranches.length]!, currency: 'EUR', name: `Customer ${i}` })));
  await core.fundMany(accounts.flatMap((a, i) => (balances[i]! > 0 ? [{ account: a.id, amount: balances[i]!, reference: `seed-${i}` }] : [])));
  const enrolled = await core.enrollWallets(accounts.map((a) => a.id));
  const wallets: TestWallet[] = enrolled.map((e) => ({ walletId: e.wallet.id, walletKey: e.walletKey, account: e.wallet.account, counter: 0 }));
  return { core, merchant, device, clock, wallets };
}
