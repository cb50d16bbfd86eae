/**
 * Splits one WriteSet of the engine into per-server parts (DESIGN §6, claims
 * 19–24). The engine sees one logical ledger; each server holds part of it:
 *
 * - a user account lives on one server (the directory's); a hot account has
 *   its main file on its home server and an auxiliary file, with the same
 *   id, on every other;
 * - a system account (funding, clearing, fees, float) has a copy, with the
 *   same id, on every server; the engine sees the sum of the copies;
 * - a journal entry lives on one server: its payer's (so the withdrawal and
 *   the entry commit together), else its merchant's, else server 0.
 *
 * A transfer lands on the one server where both sides have a file, pinned to
 * its journal entry's server when it has one (money withdrawn on a server
 * sits in that server's clearing copy). The one exception is a deposit whose
 * payee lives elsewhere: it becomes two legs, a send on the entry's server
 * (clearing → position toward the payee's server) committed with the journal
 * update, and a credit on the payee's server (position toward the entry's
 * server → payee) committed after it. Both legs carry the same reference.
 *
 * Balances after each transfer are recomputed per server (each server's
 * history is its own chain); the engine's logical balances are checked
 * against the sum over servers.
 */
import { invariant } from '../../errors.ts';
import { journalKeyString } from '../../model.ts';
import type { JournalEntry, NewTransfer } from '../../model.ts';
import type { BalanceUpdate, JournalUpdate, WriteSet } from '../ledger-store.ts';
import { ShardedStoreError } from './errors.ts';
import { legReference, positionAccountId } from './ids.ts';

export interface Placement {
  serverCount: number;
  /** The server of a user account's file (main file if hot); null for system accounts, on every server. */
  homeOf: (accountId: string) => number | null;
  /** Has a file on every server: a system account or a hot account. */
  isEverywhere: (accountId: string) => boolean;
  isHot: (accountId: string) => boolean;
  clearingFor: (currency: string) => string;
}

/** A leg the payee's server commits after the payer's: position toward the entry's server → payee. */
export interface Credit {
  server: number;
  transfer: NewTransfer;
}

export interface ServerPart extends WriteSet {
  journalInserts: JournalEntry[];
  journalUpdates: JournalUpdate[];
  transfers: NewTransfer[];
  balances: BalanceUpdate[];
}

export interface Plan {
  parts: Map<number, ServerPart>;
  credits: Credit[];
}

/** Physical balances a plan needs that the engine's WriteSet does not give: (server, account) → balance now. */
export type BalanceReader = (need: Map<number, Set<string>>) => Promise<Map<number, Map<string, number>>>;

export function routeEntry(p: Placement, e: Pick<JournalEntry, 'payer' | 'merchant'>): number {
  for (const id of [e.payer, e.merchant]) {
    if (id === null) continue;
    const home = p.homeOf(id);
    if (home !== null) return home;
  }
  return 0;
}

interface Leg {
  server: number;
  credit: boolean;
  t: NewTransfer;
}

function route(p: Placement, t: NewTransfer, entryServer: (t: NewTransfer) => number | null): Leg[] {
  const fromHome = p.isEverywhere(t.from) ? null : p.homeOf(t.from);
  const toHome = p.isEverywhere(t.to) ? null : p.homeOf(t.to);
  const pinned = entryServer(t);
  if (fromHome !== null && toHome !== null) {
    if (fromHome !== toHome) throw new ShardedStoreError('TS_ERR_CROSS_SERVER_WRITE', `transfer ${t.from} → ${t.to}: the two accounts live on servers ${fromHome} and ${toHome}`);
    return [{ server: fromHome, credit: false, t }];
  }
  if (fromHome === null && toHome === null) {
    const hot = p.isHot(t.to) ? t.to : p.isHot(t.from) ? t.from : null;
    return [{ server: pinned ?? (hot !== null ? p.homeOf(hot)! : 0), credit: false, t }];
  }
  const plainHome = (fromHome ?? toHome)!;
  if (pinned === null || pinned === plainHome || toHome === null) return [{ server: plainHome, credit: false, t }];
  // Money leaves a copy on the entry's server for a payee whose file is elsewhere: send, then credit.
  const clearing = p.clearingFor(t.currency);
  const reference = legReference('deposit', t.to, `${t.kind}:${t.journalDeviceId ?? ''}/${t.journalRequestId ?? ''}`);
  return [
    { server: pinned, credit: false, t: { ...t, to: positionAccountId(toHome, clearing), reference } },
    { server: toHome, credit: true, t: { ...t, from: positionAccountId(pinned, clearing), reference } },
  ];
}

const emptyPart = (): ServerPart => ({ journalInserts: [], journalUpdates: [], transfers: [], balances: [] });

/**
 * `entryServers` must know the server of every journal key the WriteSet
 * names (updated entries and transfers' entries); inserted entries are routed here.
 */
export async function planWrites(p: Placement, ws: WriteSet, entryServers: Map<string, number>, read: BalanceReader): Promise<Plan> {
  const parts = new Map<number, ServerPart>();
  const part = (s: number): ServerPart => {
    let x = parts.get(s);
    if (!x) parts.set(s, (x = emptyPart()));
    return x;
  };
  for (const e of ws.journalInserts) {
    const s = routeEntry(p, e);
    entryServers.set(journalKeyString(e), s);
    part(s).journalInserts.push(e);
  }
  for (const u of ws.journalUpdates) {
    const s = entryServers.get(journalKeyString(u.key));
    invariant(s !== undefined, () => `journal update of ${u.key.deviceId}/${u.key.requestId}, whose server is not known`);
    part(s).journalUpdates.push(u);
  }
  const entryServer = (t: NewTransfer): number | null => {
    if (t.journalDeviceId === null || t.journalRequestId === null) return null;
    const s = entryServers.get(journalKeyString({ deviceId: t.journalDeviceId, requestId: t.journalRequestId }));
    invariant(s !== undefined, () => `transfer for ${t.journalDeviceId}/${t.journalRequestId}, whose server is not known`);
    return s;
  };
  const legs = ws.transfers.flatMap((t) => route(p, t, entryServer));

  // Starting balances: the engine's `before` for single-file accounts, read from the server for the rest.
  const engine = new Map(ws.balances.map((b) => [b.id, b]));
  const need = new Map<number, Set<string>>();
  const wantRead = (s: number, id: string) => {
    if (!need.has(s)) need.set(s, new Set());
    need.get(s)!.add(id);
  };
  for (const l of legs) for (const id of [l.t.from, l.t.to]) if (p.isEverywhere(id) || !engine.has(id)) wantRead(l.server, id);
  for (const b of ws.balances) if (p.isEverywhere(b.id)) for (let s = 0; s < p.serverCount; s += 1) wantRead(s, b.id);
  const disk = await read(need);
  const start = (s: number, id: string): number => {
    const b = engine.get(id);
    if (b !== undefined && !p.isEverywhere(id)) return b.before;
    const v = disk.get(s)?.get(id);
    invariant(v !== undefined, () => `account ${id} has no file on server ${s}`);
    return v;
  };

  // Replay each server's legs in order: round one (the parts), then round two (credits) on top of it.
  const running = new Map<string, number>(); // `${server}\u0000${id}` → balance
  const firstSeen = new Map<string, { server: number; id: string; before: number }>();
  const bal = (s: number, id: string): number => {
    const k = `${s}\u0000${id}`;
    let v = running.get(k);
    if (v === undefined) {
      v = start(s, id);
      running.set(k, v);
      firstSeen.set(k, { server: s, id, before: v });
    }
    return v;
  };
  const credits: Credit[] = [];
  const roundOneEnd = new Map<string, number>();
  for (const round of [false, true]) {
    for (const l of legs) {
      if (l.credit !== round) continue;
      const from = bal(l.server, l.t.from) - l.t.amount;
      const to = bal(l.server, l.t.to) + l.t.amount;
      running.set(`${l.server}\u0000${l.t.from}`, from);
      running.set(`${l.server}\u0000${l.t.to}`, to);
      const t = { ...l.t, fromBalanceAfter: from, toBalanceAfter: to };
      if (round) credits.push({ server: l.server, transfer: t });
      else part(l.server).transfers.push(t);
    }
    if (!round) for (const [k, v] of running) roundOneEnd.set(k, v);
  }
  for (const [k, first] of firstSeen) {
    const end = roundOneEnd.get(k) ?? first.before;
    if (end !== first.before) part(first.server).balances.push({ id: first.id, before: first.before, after: end });
  }
  checkAgainstEngine(p, ws, running, firstSeen, disk, part);
  // Registry data (tickets minted for a wallet, wallets blocked for an offline debt) lives on server 0 with the wallets.
  if (ws.tickets && ws.tickets.length > 0) part(0).tickets = ws.tickets;
  if (ws.walletBlocks && ws.walletBlocks.length > 0) part(0).walletBlocks = ws.walletBlocks;
  return { parts, credits };
}

/** The engine's logical balances must be what the servers will hold: one file's own, or the sum of the copies. */
function checkAgainstEngine(
  p: Placement, ws: WriteSet, running: Map<string, number>, firstSeen: Map<string, { server: number; id: string; before: number }>,
  disk: Map<number, Map<string, number>>, part: (s: number) => ServerPart,
): void {
  const touched = new Set([...firstSeen.values()].map((f) => f.id));
  for (const b of ws.balances) {
    if (p.isEverywhere(b.id)) {
      let before = 0;
      let after = 0;
      for (let s = 0; s < p.serverCount; s += 1) {
        const v = disk.get(s)?.get(b.id);
        invariant(v !== undefined, () => `account ${b.id} has no copy on server ${s}`);
        before += v;
        after += running.get(`${s}\u0000${b.id}`) ?? v;
      }
      invariant(before === b.before, () => `account ${b.id} balance on disk is not ${b.before}`);
      invariant(after === b.after, () => `account ${b.id}: the transfers bring it to ${after}, the engine says ${b.after}`);
    } else if (touched.has(b.id)) {
      const s = p.homeOf(b.id)!;
      const after = running.get(`${s}\u0000${b.id}`);
      invariant(after === b.after, () => `account ${b.id}: the transfers bring it to ${String(after)}, the engine says ${b.after}`);
    } else {
      const s = p.homeOf(b.id);
      invariant(s !== null, () => `balance update of ${b.id}, which is not an account id`);
      part(s).balances.push(b); // a balance change without a transfer: the server checks it as it would alone
    }
  }
}
