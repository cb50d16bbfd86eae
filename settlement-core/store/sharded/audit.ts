/**
 * The global audit of a sharded ledger: every server checked on its own, the
 * journal checked across servers, and the clearing between servers proved.
 *
 * Per server: chain (each transfer's balances-after replay), balances
 * (stored = recomputed, ≥ floor), conservation (each server's balances sum to
 * zero per currency: every transfer, legs included, moves money within one
 * server), clearing (the server's clearing copy holds exactly the entries on
 * it whose money sits in clearing), liveness.
 * Across servers: journal-transfers (each entry's transfers are on its own
 * server and match its state, no key on two servers), placement (each user
 * file where the directory says, copies of system and hot accounts on every
 * server), inter-server clearing (every credit answers a send of the same
 * amount and reference; for every pair of servers the two positions sum to
 * the sends still in flight, zero after recovery), e-money (emoney-audit.ts:
 * float = unspent tokens over all servers, tokens and float money only on
 * the e-money server, every mint leg's tokens parked and delivered).
 */
import { Check, describeBits, expectedBits, kindBit } from '../../audit.ts';
import type { AuditReport } from '../../audit.ts';
import { inClearingStates } from '../../journal-states.ts';
import { journalKeyString } from '../../model.ts';
import type { Account, JournalEntry, JournalKey, Transfer } from '../../model.ts';
import type { LedgerStore } from '../ledger-store.ts';
import { auditShardedEmoney } from './emoney-audit.ts';
import type { MintLeg } from './emoney-audit.ts';
import { isPositionAccount, isSystemAccount, parseLegReference } from './ids.ts';
import type { ShardedLedgerStore } from './sharded-store.ts';

/** Rows read per page. */
const pageRows = 10_000;

export interface ShardedAuditReport extends AuditReport {
  servers: number;
  /** Sends whose credit is not delivered yet (recovery delivers them): count and amount per currency. */
  inFlight: { count: number; amount: Record<string, number> };
  /** Per hot account: the main file's balance and the auxiliaries' total. */
  hot: Record<string, { main: number; auxiliaries: number }>;
}

interface Leg { server: number; amount: number; currency: string; peer: number; target: string }

async function accountsOf(store: LedgerStore): Promise<Map<string, Account>> {
  const out = new Map<string, Account>();
  for (let after = ''; ;) {
    const page = await store.listAccounts({ limit: pageRows, afterId: after });
    for (const a of page) out.set(a.id, a);
    if (page.length < pageRows) return out;
    after = page[page.length - 1]!.id;
  }
}

async function* transfersOf(store: LedgerStore): AsyncGenerator<Transfer> {
  for (let after = 0; ;) {
    const page = await store.scanTransfers(after, pageRows);
    yield* page;
    if (page.length < pageRows) return;
    after = page[page.length - 1]!.id;
  }
}

async function* entriesOf(store: LedgerStore): AsyncGenerator<JournalEntry> {
  for (let after: JournalKey | null = null; ;) {
    const page: JournalEntry[] = await store.scanJournal(after, pageRows);
    yield* page;
    if (page.length < pageRows) return;
    after = page[page.length - 1]!;
  }
}

const peerOf = (positionId: string): number => Math.floor((Number(positionId.slice(4)) - 9_000_000) / 10_000);

export async function auditSharded(store: ShardedLedgerStore): Promise<ShardedAuditReport> {
  const c = {
    chain: new Check('chain'), balances: new Check('balances'), conservation: new Check('conservation'),
    journal: new Check('journal-transfers'), clearing: new Check('clearing'), liveness: new Check('liveness'),
    placement: new Check('placement'), between: new Check('inter-server-clearing'),
  };
  const n = store.servers.length;
  const d = store.directory;
  const sends = new Map<string, Leg>();
  const credits = new Map<string, Leg>();
  /** Journal key → { server, bits } of the transfers for it (credits excluded: they answer a send). */
  const bitsByEntry = new Map<string, { server: number; bits: number }>();
  const entryServer = new Map<string, number>();
  const totals: Record<string, number> = {};
  const hot: Record<string, { main: number; auxiliaries: number }> = {};
  const files = new Map<string, number[]>();
  let transfers = 0;
  let journalEntries = 0;
  const positions: { server: number; account: Account }[] = [];
  const floatCopies: { server: number; account: Account }[] = [];
  const balancesOf = new Map<string, number>(); // `${server}\u0000${account}` → the file's balance
  const logicalAccounts = new Map<string, Account>();

  for (let s = 0; s < n; s += 1) {
    const server = store.servers[s]!;
    const accounts = await accountsOf(server);
    const running = new Map<string, number>();
    for await (const t of transfersOf(server)) {
      transfers += 1;
      const where = `server ${s} transfer ${t.id}`;
      const from = accounts.get(t.from);
      const to = accounts.get(t.to);
      if (!from || !to) { c.chain.fail(`${where}: unknown account ${from ? t.to : t.from}`); continue; }
      if (from.currency !== t.currency || to.currency !== t.currency) c.chain.fail(`${where}: currency ${t.currency} differs from its accounts`);
      const fromAfter = (running.get(t.from) ?? 0) - t.amount;
      const toAfter = (running.get(t.to) ?? 0) + t.amount;
      running.set(t.from, fromAfter);
      running.set(t.to, toAfter);
      if (fromAfter !== t.fromBalanceAfter || toAfter !== t.toBalanceAfter) c.chain.fail(`${where}: balances after ${t.fromBalanceAfter}/${t.toBalanceAfter}, recomputed ${fromAfter}/${toAfter}`);
      const leg = parseLegReference(t.reference);
      if (leg !== null) {
        const isSend = isPositionAccount(t.to);
        const position = isSend ? t.to : t.from;
        const record = { server: s, amount: t.amount, currency: t.currency, peer: isPositionAccount(position) ? peerOf(position) : -1, target: leg.target };
        const map = isSend ? sends : credits;
        if (!isPositionAccount(position)) c.between.fail(`${where}: a leg between servers that touches no position account`);
        else if (map.has(t.reference!)) c.between.fail(`${where}: ${isSend ? 'send' : 'credit'} ${t.reference} twice`);
        else map.set(t.reference!, record);
        if (!isSend) continue; // a credit answers a send; the send is the entry's deposit
      }
      if (t.journalDeviceId !== null && t.journalRequestId !== null) {
        const k = journalKeyString({ deviceId: t.journalDeviceId, requestId: t.journalRequestId });
        const seen = bitsByEntry.get(k) ?? { server: s, bits: 0 };
        if (seen.server !== s) c.journal.fail(`entry ${t.journalDeviceId}/${t.journalRequestId}: transfers on servers ${seen.server} and ${s}`);
        if (seen.bits & kindBit[t.kind]) c.journal.fail(`entry ${t.journalDeviceId}/${t.journalRequestId}: two ${t.kind} transfers`);
        bitsByEntry.set(k, { server: s, bits: seen.bits | kindBit[t.kind] });
      } else if (kindBit[t.kind] !== 0 && leg?.kind !== 'integrate' && leg?.kind !== 'move') c.journal.fail(`${where}: a ${t.kind} without a journal entry`);
    }

    const serverTotals: Record<string, number> = {};
    for (const a of accounts.values()) {
      const recomputed = running.get(a.id) ?? 0;
      if (recomputed !== a.balance) c.balances.fail(`server ${s} ${a.id}: stored balance ${a.balance}, recomputed ${recomputed}`);
      if (a.balance < a.floor) c.balances.fail(`server ${s} ${a.id}: balance ${a.balance} below floor ${a.floor}`);
      serverTotals[a.currency] = (serverTotals[a.currency] ?? 0) + a.balance;
      totals[a.currency] = (totals[a.currency] ?? 0) + a.balance;
      if (isPositionAccount(a.id)) positions.push({ server: s, account: a });
      else logicalAccounts.set(a.id, { ...a, balance: (logicalAccounts.get(a.id)?.balance ?? 0) + a.balance });
      if (a.kind === 'issuer-float') floatCopies.push({ server: s, account: a });
      balancesOf.set(`${s}\u0000${a.id}`, a.balance);
      if (!files.has(a.id)) files.set(a.id, []);
      files.get(a.id)!.push(s);
      if (d.isHot(a.id)) {
        const h = (hot[a.id] ??= { main: 0, auxiliaries: 0 });
        if (d.serverFor(a.id) === s) h.main += a.balance;
        else h.auxiliaries += a.balance;
      }
    }
    for (const [currency, total] of Object.entries(serverTotals)) if (total !== 0) c.conservation.fail(`server ${s} ${currency}: balances sum to ${total}, not 0`);

    const inClearing = new Map<string, number>();
    for await (const e of entriesOf(server)) {
      journalEntries += 1;
      const k = journalKeyString(e);
      if (entryServer.has(k)) c.journal.fail(`entry ${e.deviceId}/${e.requestId} is on servers ${entryServer.get(k)} and ${s}`);
      entryServer.set(k, s);
      const seen = bitsByEntry.get(k);
      bitsByEntry.delete(k);
      if (seen && seen.server !== s) c.journal.fail(`entry ${e.deviceId}/${e.requestId} is on server ${s}, its transfers on ${seen.server}`);
      if ((seen?.bits ?? 0) !== expectedBits[e.state]) c.journal.fail(`entry ${e.deviceId}/${e.requestId}: state ${e.state}, transfers ${describeBits(seen?.bits ?? 0)}`);
      if (inClearingStates.has(e.state) && e.currency !== null && e.amount !== null) inClearing.set(e.currency, (inClearing.get(e.currency) ?? 0) + e.amount);
      if ((e.state === 'withdrawn' || e.state === 'deferred' || e.state === 'received') && e.dueAt === null) c.liveness.fail(`entry ${e.deviceId}/${e.requestId}: ${e.state} with no due time`);
    }
    for (const a of accounts.values()) {
      if (a.kind !== 'clearing' || !isSystemAccount(a.id)) continue;
      const expected = inClearing.get(a.currency) ?? 0;
      if (a.balance !== expected) c.clearing.fail(`server ${s} ${a.id}: balance ${a.balance}, entries in clearing there sum to ${expected}`);
    }
  }
  for (const k of bitsByEntry.keys()) c.journal.fail(`transfers point at a missing journal entry ${k.replace('\u0000', '/')}`);
  for (const [currency, total] of Object.entries(totals)) if (total !== 0) c.conservation.fail(`${currency}: all servers' balances sum to ${total}, not 0`);

  checkPlacement(c.placement, files, n, (id) => d.serverFor(id), (id) => d.isHot(id), (id) => d.formerServers(id));
  const inFlight = checkLegs(c.between, sends, credits, positions);
  checkFormerFiles(c.placement, d, balancesOf, sends, credits);
  const mintLegs: MintLeg[] = [...sends].filter(([ref]) => parseLegReference(ref)?.kind === 'mint').map(([reference, send]) => ({ reference, sendServer: send.server, creditServer: credits.get(reference)?.server ?? null }));
  const emoney = await auditShardedEmoney(store.servers, store, logicalAccounts, floatCopies, mintLegs);
  const checks = [...Object.values(c).map((x) => x.done()), ...emoney];
  return { ok: checks.every((x) => x.ok), checks, accounts: logicalAccounts.size, transfers, journalEntries, totals, servers: n, inFlight, hot };
}

function checkPlacement(check: Check, files: Map<string, number[]>, n: number, home: (id: string) => number | null, isHot: (id: string) => boolean, former: (id: string) => readonly number[]): void {
  for (const [id, on] of files) {
    if (isPositionAccount(id)) {
      // A server's position toward a peer is on every server but that peer.
      if (on.length !== n - 1 || on.includes(peerOf(id))) check.fail(`${id}: files on servers ${on.join(',')}, expected every server but ${peerOf(id)}`);
    } else if (isSystemAccount(id) || isHot(id)) {
      if (on.length !== n) check.fail(`${id}: files on servers ${on.join(',')}, expected every server`);
    } else if (!on.includes(home(id) ?? -1) || on.some((s) => s !== home(id) && !former(id).includes(s))) {
      const left = former(id).length > 0 ? ` (and former files on ${former(id).join(',')})` : '';
      check.fail(`${id}: files on servers ${on.join(',')}, the directory says ${String(home(id))}${left}`);
    }
  }
}

/** A moved account's former files hold nothing, but for a move's credit toward them still in flight (move.ts). */
function checkFormerFiles(check: Check, d: ShardedLedgerStore['directory'], balanceOf: Map<string, number>, sends: Map<string, Leg>, credits: Map<string, Leg>): void {
  const owed = new Map<string, number>(); // `${server}\u0000${account}` → in-flight move credits toward that file
  for (const [ref, send] of sends) {
    if (credits.has(ref) || parseLegReference(ref)?.kind !== 'move') continue;
    const k = `${send.peer}\u0000${send.target}`;
    owed.set(k, (owed.get(k) ?? 0) + send.amount);
  }
  for (const id of d.movedAccounts) {
    for (const s of d.formerServers(id)) {
      const k = `${s}\u0000${id}`;
      const held = (balanceOf.get(k) ?? 0) + (owed.get(k) ?? 0);
      if (held !== 0) check.fail(`${id}: its former file on server ${s} holds ${held}, moved accounts keep nothing there`);
    }
  }
}

function checkLegs(check: Check, sends: Map<string, Leg>, credits: Map<string, Leg>, positions: { server: number; account: Account }[]): ShardedAuditReport['inFlight'] {
  const inFlight = { count: 0, amount: {} as Record<string, number> };
  const owed = new Map<string, number>(); // `${low}-${high}-${clearing}` → in-flight amount
  for (const [ref, send] of sends) {
    const credit = credits.get(ref);
    if (credit) {
      if (credit.amount !== send.amount || credit.currency !== send.currency || credit.server !== send.peer || credit.peer !== send.server) {
        check.fail(`${ref}: send ${send.amount} ${send.currency} server ${send.server}→${send.peer}, credit ${credit.amount} ${credit.currency} on server ${credit.server} from ${credit.peer}`);
      }
      continue;
    }
    inFlight.count += 1;
    inFlight.amount[send.currency] = (inFlight.amount[send.currency] ?? 0) + send.amount;
    const pair = `${Math.min(send.server, send.peer)}-${Math.max(send.server, send.peer)}-${send.currency}`;
    owed.set(pair, (owed.get(pair) ?? 0) + send.amount);
  }
  for (const [ref, credit] of credits) if (!sends.has(ref)) check.fail(`${ref}: credit on server ${credit.server} without a send`);
  const sums = new Map<string, number>();
  for (const { server, account } of positions) {
    const peer = peerOf(account.id);
    const pair = `${Math.min(server, peer)}-${Math.max(server, peer)}-${account.currency}`;
    sums.set(pair, (sums.get(pair) ?? 0) + account.balance);
  }
  for (const [pair, sum] of sums) {
    const expected = owed.get(pair) ?? 0;
    if (sum !== expected) check.fail(`servers ${pair}: positions sum to ${sum}, sends in flight to ${expected}`);
  }
  return inFlight;
}
