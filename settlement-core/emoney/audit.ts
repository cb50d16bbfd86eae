/**
 * The e-money check of the audit (claims 34–35): per issuer float account,
 * its balance equals the value of its unspent tokens — every issuance put
 * the token's value in, every deposit took the spent tokens' value out — and
 * no unspent token names an account that is not an issuer float.
 */
import type { AuditCheck } from '../audit.ts';
import type { Account } from '../model.ts';
import type { LedgerStore } from '../store/ledger-store.ts';

/** Problems kept (the rest are counted), as the other checks do. */
const problemsMax = 20;

export async function auditEmoney(store: LedgerStore, accounts: ReadonlyMap<string, Account>): Promise<AuditCheck> {
  const outstanding = await store.emoneyOutstanding();
  const problems: string[] = [];
  let more = 0;
  const fail = (p: string) => {
    if (problems.length < problemsMax) problems.push(p);
    else more += 1;
  };
  for (const a of accounts.values()) {
    if (a.kind !== 'issuer-float') continue;
    const unspent = outstanding.get(a.id) ?? { value: 0, count: 0 };
    if (a.balance !== unspent.value) fail(`${a.id}: float balance ${a.balance}, ${unspent.count} unspent tokens worth ${unspent.value}`);
  }
  for (const [id, unspent] of outstanding) {
    if (accounts.get(id)?.kind !== 'issuer-float') fail(`${unspent.count} unspent tokens name ${id}, which is not an issuer float account`);
  }
  if (more > 0) problems.push(`… and ${more} more`);
  return { name: 'emoney-float', ok: problems.length === 0, problems };
}
