/**
 * The engine's view of accounts kept as several files: a system account has
 * a copy on every server, a hot account a main file and auxiliaries. The
 * logical account is the home copy (server 0 for system accounts) with the
 * sum of every copy's balance. Position accounts are the store's own and
 * never part of the logical view.
 */
import { limits } from '../../../protocol/index.ts';
import type { Account } from '../../model.ts';
import { isPositionAccount, positionAccountId } from './ids.ts';

export function logicalAccount(copies: readonly (Account | undefined)[], home: number): Account | undefined {
  const base = copies[home] ?? copies.find((c) => c !== undefined);
  if (!base) return undefined;
  let balance = 0;
  for (const c of copies) if (c) balance += c.balance;
  return { ...base, balance };
}

/**
 * Merges per-server rows into logical accounts: copies of one id are summed,
 * positions dropped. `homeOf` says which server's row is the account's own
 * (null: server 0); rows of an account that lives on one server elsewhere
 * than its home are ignored (the audit reports them).
 */
export function mergeAccounts(rows: readonly (readonly Account[])[], everywhere: (id: string) => boolean, homeOf: (id: string) => number | null): Account[] {
  const byId = new Map<string, (Account | undefined)[]>();
  rows.forEach((list, server) => {
    for (const a of list) {
      if (isPositionAccount(a.id)) continue;
      if (!everywhere(a.id) && homeOf(a.id) !== server) continue;
      let copies = byId.get(a.id);
      if (!copies) byId.set(a.id, (copies = new Array<Account | undefined>(rows.length)));
      copies[server] = a;
    }
  });
  const out: Account[] = [];
  for (const [id, copies] of byId) out.push(logicalAccount(copies, homeOf(id) ?? 0)!);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The file of `account` on a server other than its home: same id and kind, balance 0. */
export const copyOf = (account: Account): Account => ({ ...account, balance: 0 });

/** Server `server`'s position toward each peer, for a currency's clearing account. */
export function positionsFor(clearing: Account, server: number, serverCount: number): Account[] {
  const out: Account[] = [];
  for (let peer = 0; peer < serverCount; peer += 1) {
    if (peer === server) continue;
    out.push({
      id: positionAccountId(peer, clearing.id), kind: 'clearing', currency: clearing.currency,
      name: `position toward server ${peer} (${clearing.currency})`, balance: 0, floor: -limits.balanceMinorMax,
      status: 'active', attributes: {}, createdAt: clearing.createdAt,
    });
  }
  return out;
}
