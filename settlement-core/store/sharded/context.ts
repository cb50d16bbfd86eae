/** What a sharded unit of work needs from its store: the servers, where things live, and memos of where they were found. */
import type { LedgerStore } from '../ledger-store.ts';
import type { BoundedMap } from './bounded-map.ts';
import type { Directory } from './directory.ts';
import { ShardedStoreError } from './errors.ts';
import { isPositionAccount, isSystemAccount } from './ids.ts';
import type { Placement } from './plan.ts';

export interface ShardContext {
  servers: readonly LedgerStore[];
  directory: Directory;
  /** Journal key string → server of the entry, for entries this store wrote or found lately. */
  entryServers: BoundedMap<string, number>;
  /** Wallet id → its account, so a counter is looked for on one server only. */
  walletAccounts: BoundedMap<string, string>;
  /** Currency → its (logical) clearing account. */
  clearing: Map<string, string>;
}

export function placementOf(ctx: Pick<ShardContext, 'directory' | 'clearing' | 'servers'>): Placement {
  const d = ctx.directory;
  return {
    serverCount: ctx.servers.length,
    homeOf: (id) => (isSystemAccount(id) || isPositionAccount(id) ? null : d.serverFor(id)),
    isEverywhere: (id) => isSystemAccount(id) || isPositionAccount(id) || d.isHot(id),
    isHot: (id) => d.isHot(id),
    clearingFor: (currency) => {
      const c = ctx.clearing.get(currency);
      if (c === undefined) throw new ShardedStoreError('TS_ERR_CROSS_SERVER_WRITE', `no clearing account for ${currency}: cannot move money between servers`);
      return c;
    },
  };
}
