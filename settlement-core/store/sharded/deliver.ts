/**
 * The second leg of a movement between servers (claim 24's deposit on the
 * payee's server; an integration's credit to a hot account's main file):
 * position toward the sending server → the receiving account. A credit is
 * idempotent — its reference is the send's, and a server holds each
 * reference once — so it can be delivered again after any crash.
 *
 * Recovery: for every pair of servers the two positions sum to what was sent
 * and not yet credited (zero when nothing is in flight, since a send always
 * commits before its credit). When the sum is not zero, the sends are
 * walked newest first until the missing credits add up to it, and those are
 * delivered. A mint leg's credit (emoney.ts) is rebuilt with its tokens,
 * read from the sending server where they are parked.
 */
import { invariant } from '../../errors.ts';
import type { Account, EmoneyTokenRecord, Transfer } from '../../model.ts';
import type { LedgerStore, WriteSet } from '../ledger-store.ts';
import { mintLegSerials, parseLegReference, positionAccountId } from './ids.ts';
import type { Credit } from './plan.ts';

/** Send lines read per page while looking for undelivered credits. */
const reconcilePageRows = 1000;
/** Sends examined per pair before recovery gives up: in-flight sends are the last batch's, so far fewer are ever needed. */
export const reconcileScanMax = 1_000_000;

/** Delivers credits: one unit of work per receiving server, the servers at once. Credits already there are skipped. */
export async function deliverCredits(servers: readonly LedgerStore[], credits: readonly Credit[]): Promise<number> {
  const byServer = new Map<number, Credit[]>();
  for (const c of credits) {
    if (!byServer.has(c.server)) byServer.set(c.server, []);
    byServer.get(c.server)!.push(c);
  }
  const counts = await Promise.all([...byServer].map(([s, list]) => servers[s]!.transaction(async (tx) => {
    // All the looks at once: on a store whose calls cross a thread or a connection, their round trips overlap instead of adding up.
    const held = await Promise.all(list.map((c) => {
      invariant(c.transfer.reference !== null, 'a credit without a reference cannot be delivered idempotently');
      return tx.transferByReference(c.transfer.reference);
    }));
    const fresh = list.filter((_, i) => held[i] === null);
    if (fresh.length === 0) return 0;
    // Tokens go live with the credit that pays for them: both or neither.
    const mints = fresh.flatMap((c) => c.mints ?? []);
    const rows = creditRows(await tx.getAccounts([...new Set(fresh.flatMap((c) => [c.transfer.from, c.transfer.to]))]), fresh, s);
    await tx.apply({ journalInserts: [], journalUpdates: [], ...rows, ...(mints.length > 0 ? { emoney: { requests: [], mints, spends: [] } } : {}) });
    return fresh.length;
  })));
  return counts.reduce((a, b) => a + b, 0);
}

/** The credits' transfers with each one's balances after on this server, and the balance updates they make. */
function creditRows(accounts: ReadonlyMap<string, Account>, fresh: readonly Credit[], s: number): Pick<WriteSet, 'transfers' | 'balances'> {
  const balance = new Map<string, number>();
  for (const { transfer: t } of fresh) {
    for (const id of [t.from, t.to]) {
      const a = accounts.get(id);
      invariant(a !== undefined, () => `credit to or from ${id}, which has no file on server ${s}`);
      balance.set(id, a.balance);
    }
  }
  const before = new Map(balance);
  const transfers = fresh.map(({ transfer: t }) => {
    const from = balance.get(t.from)! - t.amount;
    const to = balance.get(t.to)! + t.amount;
    balance.set(t.from, from);
    balance.set(t.to, to);
    return { ...t, fromBalanceAfter: from, toBalanceAfter: to };
  });
  const balances = [...balance.keys()].filter((id) => balance.get(id) !== before.get(id)).map((id) => ({ id, before: before.get(id)!, after: balance.get(id)! }));
  return { transfers, balances };
}

/** Does `server` hold a transfer with this reference? One read-only look inside a unit of work. */
function referencesHeld(store: LedgerStore, references: readonly string[]): Promise<Set<string>> {
  return store.transaction(async (tx) => {
    const held = await Promise.all(references.map((r) => tx.transferByReference(r)));
    return new Set(references.filter((_, i) => held[i] !== null));
  });
}

async function transferAt(store: LedgerStore, localId: number): Promise<Transfer> {
  const [t] = await store.scanTransfers(localId - 1, 1);
  invariant(t !== undefined && t.id === localId, () => `transfer ${localId} vanished`);
  return t;
}

/** The credit that answers a send from `from` to `to`. */
export function creditFor(send: Transfer, from: number, to: number, clearingId: string): Credit {
  const leg = parseLegReference(send.reference);
  invariant(leg !== null, () => `send ${send.id} has no leg reference`);
  const { id: _id, ...rest } = send;
  return { server: to, transfer: { ...rest, from: positionAccountId(from, clearingId), to: leg.target, at: leg.kind === 'move' ? send.at + 1 : send.at } };
}

/** A mint leg's credit carries its tokens: read them where they are parked (the sending server) and make them live again. */
export async function withParkedTokens(sender: LedgerStore, credit: Credit): Promise<Credit> {
  const serials = mintLegSerials(credit.transfer.reference);
  if (serials === null) return credit;
  const parked = await sender.transaction((tx) => tx.getEmoneyTokens(serials));
  const mints = serials.map((serial): EmoneyTokenRecord => {
    const r = parked.get(serial);
    invariant(r !== undefined && r.depositRequest === credit.transfer.reference, () => `mint leg ${credit.transfer.reference}: token ${serial} is not parked on the sending server`);
    return { token: r.token, issueRequest: r.issueRequest, spentAt: null, depositRequest: null };
  });
  return { ...credit, mints };
}

/** Pages through the sends from one server toward another (one currency), newest first, keeping those whose credit is missing. */
class SendPager {
  private before: number | undefined;
  private scanned = 0;
  done = false;

  constructor(private readonly servers: readonly LedgerStore[], private readonly from: number, private readonly to: number, private readonly clearingId: string) {}

  async next(): Promise<Credit[]> {
    const store = this.servers[this.from]!;
    const lines = await store.statement(positionAccountId(this.to, this.clearingId), { limit: reconcilePageRows, ...(this.before !== undefined ? { beforeTransferId: this.before } : {}) });
    const sends = await Promise.all(lines.filter((l) => l.amount > 0).map((l) => transferAt(store, l.transferId)));
    const held = await referencesHeld(this.servers[this.to]!, sends.map((t) => t.reference!));
    this.scanned += lines.length;
    this.done = lines.length < reconcilePageRows || this.scanned >= reconcileScanMax;
    if (lines.length > 0) this.before = lines[lines.length - 1]!.transferId;
    const missing = sends.filter((t) => !held.has(t.reference!)).map((t) => creditFor(t, this.from, this.to, this.clearingId));
    return Promise.all(missing.map((c) => withParkedTokens(store, c)));
  }
}

/**
 * Finds and delivers every credit missing between any two servers. Returns
 * how many were delivered. A pair whose positions cannot be explained is an
 * InvariantError: money would otherwise be lost.
 */
export async function reconcile(servers: readonly LedgerStore[], clearingIds: Iterable<string>): Promise<number> {
  const credits: Credit[] = [];
  for (const clearingId of clearingIds) {
    for (let a = 0; a < servers.length; a += 1) {
      for (let b = a + 1; b < servers.length; b += 1) {
        const ab = (await servers[a]!.getAccount(positionAccountId(b, clearingId)))?.balance ?? 0;
        const ba = (await servers[b]!.getAccount(positionAccountId(a, clearingId)))?.balance ?? 0;
        const owed = ab + ba;
        if (owed === 0) continue;
        invariant(owed > 0, () => `servers ${a} and ${b} hold ${owed} more credits than sends (${clearingId})`);
        // The owed sum may be split between the two directions: walk both, newest first, until it is explained.
        const pagers = [new SendPager(servers, a, b, clearingId), new SendPager(servers, b, a, clearingId)];
        let found = 0;
        while (found < owed && pagers.some((p) => !p.done)) {
          for (const p of pagers) {
            if (p.done) continue;
            for (const c of await p.next()) {
              credits.push(c);
              found += c.transfer.amount;
            }
          }
        }
        // More than owed is possible only if another process sent meanwhile; delivering those too is harmless (idempotent).
        invariant(found >= owed, () => `servers ${a} and ${b}: ${owed} in flight, found ${found} in sends without credits (${clearingId})`);
      }
    }
  }
  return credits.length === 0 ? 0 : deliverCredits(servers, credits);
}
