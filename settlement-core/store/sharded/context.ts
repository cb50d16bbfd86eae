/** What a sharded unit of work needs from its store: the servers, where things live, and memos of where they were found. */
import type { Account } from '../../model.ts';
import type { LedgerStore } from '../ledger-store.ts';
import type { BoundedMap } from './bounded-map.ts';
import type { Directory } from './directory.ts';
import { emoneyServer } from './emoney.ts';
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
  /** System account id → its kind and currency (a few per currency, read from server 0): tells the issuer floats apart. */
  systemAccounts: Map<string, Pick<Account, 'kind' | 'currency'>>;
}

/** Remembers what kind of system account an id is (an account read or created in a unit of work). */
export function noteSystemAccount(ctx: Pick<ShardContext, 'systemAccounts'>, a: Pick<Account, 'id' | 'kind' | 'currency'>): void {
  if (isSystemAccount(a.id)) ctx.systemAccounts.set(a.id, { kind: a.kind, currency: a.currency });
}

/** The currency's issuer float, if this store has seen one. */
export function floatFor(ctx: Pick<ShardContext, 'systemAccounts'>, currency: string): string | undefined {
  for (const [id, a] of ctx.systemAccounts) if (a.kind === 'issuer-float' && a.currency === currency) return id;
  return undefined;
}

export function placementOf(ctx: Pick<ShardContext, 'directory' | 'clearing' | 'servers' | 'systemAccounts'>): Placement {
  const d = ctx.directory;
  const homeOf = (id: string) => (isSystemAccount(id) || isPositionAccount(id) ? null : d.serverFor(id));
  const isEverywhere = (id: string) => isSystemAccount(id) || isPositionAccount(id) || d.isHot(id);
  const isFloat = (id: string) => ctx.systemAccounts.get(id)?.kind === 'issuer-float';
  return {
    serverCount: ctx.servers.length,
    homeOf,
    isEverywhere,
    isHot: (id) => d.isHot(id),
    isFloat,
    // An issuer float keeps a (zero) copy on every server, but its money stays on the e-money server (emoney.ts).
    moneyHomeOf: (id) => (isFloat(id) ? emoneyServer : isEverywhere(id) ? null : homeOf(id)),
    clearingFor: (currency) => {
      const c = ctx.clearing.get(currency);
      if (c === undefined) throw new ShardedStoreError('TS_ERR_CROSS_SERVER_WRITE', `no clearing account for ${currency}: cannot move money between servers`);
      return c;
    },
  };
}
