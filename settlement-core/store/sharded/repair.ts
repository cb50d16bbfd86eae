/**
 * Restores the files an account must have on every server: copies of system
 * accounts, position accounts beside each clearing account, auxiliary files
 * of hot accounts. They are created in one unit of work over all servers; if
 * that unit failed part way (one server committed, another not), the next
 * start finishes it here. A missing copy is created with balance 0, which is
 * what it would have had.
 */
import { invariant } from '../../errors.ts';
import type { Account } from '../../model.ts';
import type { LedgerStore } from '../ledger-store.ts';
import { isSystemAccount } from './ids.ts';
import { copyOf, positionsFor } from './logical.ts';
import type { Placement } from './plan.ts';

/** System accounts are few (four per currency); this bounds the look. */
const systemAccountsMax = 10_000;

export async function repairCopies(servers: readonly LedgerStore[], p: Placement, hot: readonly string[]): Promise<number> {
  const wanted = new Map<string, Account>();
  for (const store of servers) {
    for (const a of await store.listAccounts({ limit: systemAccountsMax })) if (isSystemAccount(a.id) && !wanted.has(a.id)) wanted.set(a.id, a);
  }
  for (const id of hot) {
    const home = p.homeOf(id);
    invariant(home !== null, () => `hot account ${id} has no home server`);
    const main = await servers[home]!.getAccount(id);
    if (main) wanted.set(id, main);
  }
  let created = 0;
  for (const [s, store] of servers.entries()) {
    const must = [...wanted.values()].flatMap((a) => [a, ...(a.kind === 'clearing' && isSystemAccount(a.id) ? positionsFor(a, s, servers.length) : [])]);
    if (must.length === 0) continue;
    created += await store.transaction(async (tx) => {
      const have = await tx.getAccounts(must.map((a) => a.id));
      const missing = must.filter((a) => !have.has(a.id));
      for (const a of missing) await tx.insertAccount(copyOf(a));
      return missing.length;
    });
  }
  return created;
}
