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
 * sits in that server's clearing copy). An issuer float's money stays on the
 * e-money server (emoney.ts). A transfer whose money leaves on one server
 * and lands on another — a deposit whose payee lives elsewhere than the
 * entry, an e-money issuance or payout between a user's server and the
 * e-money server — becomes two legs: a send on the first server (from →
 * position toward the other) committed with the rest of that server's part,
 * and a credit on the other (position toward the first → to) committed
 * after it. Both legs carry the same reference.
 *
 * A declined entry that blocks a wallet (an offline debt, issue 5) goes to
 * server 0 with the wallets, so the decline and the block commit together;
 * a minted ticket goes with its entry, so the approval and the ticket do.
 *
 * Balances after each transfer are recomputed per server (each server's
 * history is its own chain); the engine's logical balances are checked
 * against the sum over servers.
 */
import { invariant } from '../../errors.ts';
import { journalKeyString } from '../../model.ts';
import type { EmoneyTokenRecord, JournalEntry, NewTransfer } from '../../model.ts';
import type { BalanceUpdate, JournalUpdate, WriteSet } from '../ledger-store.ts';
import { placeEmoney } from './emoney.ts';
import type { Ends } from './emoney.ts';
import { ShardedStoreError } from './errors.ts';
import { legReference, mintLegUnique, positionAccountId } from './ids.ts';

export interface Placement {
  serverCount: number;
  /** The server of a user account's file (main file if hot); null for system accounts, on every server. */
  homeOf: (accountId: string) => number | null;
  /** Has a file on every server: a system account or a hot account. */
  isEverywhere: (accountId: string) => boolean;
  isHot: (accountId: string) => boolean;
  /** An issuer float: a copy on every server, its money on the e-money server. */
  isFloat: (accountId: string) => boolean;
  /** Where an account's money is moved: its file's server, the e-money server for a float, null for a copy on every server. */
  moneyHomeOf: (accountId: string) => number | null;
  clearingFor: (currency: string) => string;
}

/** A leg the receiving server commits after the sending one's part: position toward the sending server → the account. */
export interface Credit {
  server: number;
  transfer: NewTransfer;
  /** E-money tokens that go live with this credit (a mint leg, emoney.ts). */
  mints?: EmoneyTokenRecord[];
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
  mints?: EmoneyTokenRecord[];
}

/**
 * Where a transfer's money leaves (`src`) and lands (`dst`). An account with
 * a file on one server (or a float's money) is moved there; an account with
 * a copy on every server is moved on the entry's server, else beside the
 * other side, else on a hot account's home, else on server 0.
 */
function endsOf(p: Placement, t: NewTransfer, pinned: number | null): Ends {
  const fromHome = p.moneyHomeOf(t.from);
  const toHome = p.moneyHomeOf(t.to);
  const hot = p.isHot(t.to) ? t.to : p.isHot(t.from) ? t.from : null;
  const fallback = pinned ?? (hot !== null ? p.homeOf(hot)! : 0);
  return { src: fromHome ?? pinned ?? toHome ?? fallback, dst: toHome ?? fromHome ?? fallback };
}

/** What makes the two legs of a movement between servers unique: its journal entry, else its own reference. */
function uniqueOf(t: NewTransfer): string {
  if (t.journalDeviceId !== null && t.journalRequestId !== null) return `${t.kind}:${t.journalDeviceId}/${t.journalRequestId}`;
  if (t.reference !== null) return `${t.kind}:reference:${t.reference}`;
  throw new ShardedStoreError('TS_ERR_CROSS_SERVER_WRITE', `transfer ${t.from} → ${t.to} moves money between servers and has neither a journal entry nor a reference to pair its legs by`);
}

function legReferenceOf(t: NewTransfer, serials: readonly string[] | undefined): string {
  return serials === undefined || serials.length === 0 ? legReference('deposit', t.to, uniqueOf(t)) : legReference('mint', t.to, mintLegUnique(serials, uniqueOf(t)));
}

function route(p: Placement, t: NewTransfer, { src, dst }: Ends, mints: EmoneyTokenRecord[] | undefined): Leg[] {
  if (src === dst) return [{ server: src, credit: false, t }];
  const clearing = p.clearingFor(t.currency);
  const reference = legReferenceOf(t, mints?.map((m) => m.token.serial));
  return [
    { server: src, credit: false, t: { ...t, to: positionAccountId(dst, clearing), reference } },
    { server: dst, credit: true, t: { ...t, from: positionAccountId(src, clearing), reference }, ...(mints ? { mints } : {}) },
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
  // An entry whose decline blocks a wallet commits with the block on server 0, unless money moves for it here.
  const named = new Set(ws.transfers.flatMap((t) => (t.journalDeviceId !== null && t.journalRequestId !== null ? [journalKeyString({ deviceId: t.journalDeviceId, requestId: t.journalRequestId })] : [])));
  const blocking = new Set((ws.walletBlocks ?? []).map((b) => journalKeyString(b)).filter((k) => !named.has(k)));
  for (const e of ws.journalInserts) {
    const s = blocking.has(journalKeyString(e)) ? 0 : routeEntry(p, e);
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
  const ends = ws.transfers.map((t) => endsOf(p, t, entryServer(t)));
  const emoney = placeEmoney(p, ws, ends, (i, serials) => legReferenceOf(ws.transfers[i]!, serials));
  const legs = ws.transfers.flatMap((t, i) => route(p, t, ends[i]!, emoney.carried.get(i)));

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
      if (round) credits.push({ server: l.server, transfer: t, ...(l.mints ? { mints: l.mints } : {}) });
      else part(l.server).transfers.push(t);
    }
    if (!round) for (const [k, v] of running) roundOneEnd.set(k, v);
  }
  for (const [k, first] of firstSeen) {
    const end = roundOneEnd.get(k) ?? first.before;
    if (end !== first.before) part(first.server).balances.push({ id: first.id, before: first.before, after: end });
  }
  checkAgainstEngine(p, ws, running, firstSeen, disk, part);
  // A ticket commits with the settlement that paid for it (its entry's server; server 0 if the entry is not known).
  for (const t of ws.tickets ?? []) (part(entryServers.get(journalKeyString(t)) ?? 0).tickets ??= []).push(t);
  // Wallets blocked for an offline debt: on server 0 with the wallets (and the declined entry, routed there above).
  if (ws.walletBlocks && ws.walletBlocks.length > 0) part(0).walletBlocks = ws.walletBlocks;
  for (const [s, writes] of emoney.parts) part(s).emoney = writes;
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
