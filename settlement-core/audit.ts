/**
 * The audit: recompute every balance from the transfers and check every
 * invariant of DESIGN §6 against what is stored. It reads committed data
 * only, so it can run beside a live core.
 *
 * 1. chain: each transfer's balance-after equals the running balance of both sides;
 * 2. balances: every stored balance equals its recomputed balance, and is ≥ its floor;
 * 3. conservation: per currency, all balances sum to zero (money enters only from external funding);
 * 4. journal ↔ transfers: each entry has exactly the transfers its state implies, no transfer points at a missing entry;
 * 5. clearing: each clearing balance equals the amounts of entries whose money sits in clearing;
 * 6. liveness: every unfinished entry has a due time, so the scheduler will finish it;
 * 7. emoney-float: each issuer float's balance equals the value of its unspent tokens (claims 34–35);
 * 8. cards: card captures and reversals pair up, and each card receivable owes what is captured and not reversed (claim 36).
 */
import { auditCards, cardTransferProblem } from './cards/ledger-audit.ts';
import { auditEmoney } from './emoney/audit.ts';
import { inClearingStates } from './journal-states.ts';
import { journalKeyString } from './model.ts';
import type { Account, JournalEntry, JournalKey, JournalState, TransferKind } from './model.ts';
import type { LedgerStore } from './store/ledger-store.ts';

export interface AuditCheck {
  name: string;
  ok: boolean;
  /** Up to `problemsMax` problems, each one line. */
  problems: string[];
}

export interface AuditReport {
  ok: boolean;
  checks: AuditCheck[];
  accounts: number;
  transfers: number;
  journalEntries: number;
  /** Sum of all balances per currency: zero in a sound ledger. */
  totals: Record<string, number>;
}

/** Rows read per page; problems kept per check (the rest are counted). */
const pageRows = 10_000;
const problemsMax = 20;

/** Exported for the sharded store's global audit, which checks the same things per server and across servers. */
/** E-money movements (claims 34–35) belong to no journal entry: they carry the e-money request as their reference. */
/**
 * A card sale's one transfer (claim 36, settlement-core/cards/ledger.ts) is its entry's withdrawal and deposit at
 * once — the money never rests in clearing — so it counts as both, and its `deposited` entry has exactly one.
 */
const cardMovement = 1 | 2;
export const kindBit: Readonly<Record<TransferKind, number>> = {
  fund: 0, withdraw: 1, deposit: 2, reverse: 4, cancel: 8, 'emoney-issue': 0, 'emoney-deposit': 0, 'card-capture': cardMovement, 'card-reversal': cardMovement,
};
const unjournalledKinds: ReadonlySet<TransferKind> = new Set(['fund', 'emoney-issue', 'emoney-deposit']);
export const expectedBits: Readonly<Record<JournalState, number>> = {
  received: 0, declined: 0, withdrawn: 1, deferred: 1, deposited: 1 | 2, reversed: 1 | 4, cancelled: 1 | 8,
};

export class Check implements AuditCheck {
  ok = true;
  problems: string[] = [];
  private extra = 0;
  constructor(readonly name: string) {}
  fail(problem: string): void {
    this.ok = false;
    if (this.problems.length < problemsMax) this.problems.push(problem);
    else this.extra += 1;
  }
  done(): AuditCheck {
    if (this.extra > 0) this.problems.push(`… and ${this.extra} more`);
    return { name: this.name, ok: this.ok, problems: this.problems };
  }
}

async function allAccounts(store: LedgerStore): Promise<Map<string, Account>> {
  const out = new Map<string, Account>();
  for (let after = ''; ;) {
    const page = await store.listAccounts({ limit: pageRows, afterId: after });
    for (const a of page) out.set(a.id, a);
    if (page.length < pageRows) return out;
    after = page[page.length - 1]!.id;
  }
}

export async function audit(store: LedgerStore): Promise<AuditReport> {
  const chain = new Check('chain');
  const balances = new Check('balances');
  const conservation = new Check('conservation');
  const journal = new Check('journal-transfers');
  const clearing = new Check('clearing');
  const liveness = new Check('liveness');

  const accounts = await allAccounts(store);
  const running = new Map<string, number>();
  const bitsByEntry = new Map<string, number>();
  let transfers = 0;
  for (let after = 0; ;) {
    const page = await store.scanTransfers(after, pageRows);
    for (const t of page) {
      transfers += 1;
      const from = accounts.get(t.from);
      const to = accounts.get(t.to);
      if (!from || !to) { chain.fail(`transfer ${t.id}: unknown account ${from ? t.to : t.from}`); continue; }
      if (from.currency !== t.currency || to.currency !== t.currency) chain.fail(`transfer ${t.id}: currency ${t.currency} differs from its accounts`);
      const fromAfter = (running.get(t.from) ?? 0) - t.amount;
      const toAfter = (running.get(t.to) ?? 0) + t.amount;
      running.set(t.from, fromAfter);
      running.set(t.to, toAfter);
      if (fromAfter !== t.fromBalanceAfter) chain.fail(`transfer ${t.id}: ${t.from} balance after is ${t.fromBalanceAfter}, recomputed ${fromAfter}`);
      if (toAfter !== t.toBalanceAfter) chain.fail(`transfer ${t.id}: ${t.to} balance after is ${t.toBalanceAfter}, recomputed ${toAfter}`);
      const cardProblem = cardTransferProblem(t);
      if (cardProblem !== null) journal.fail(cardProblem);
      if (t.journalDeviceId !== null && t.journalRequestId !== null) {
        const k = journalKeyString({ deviceId: t.journalDeviceId, requestId: t.journalRequestId });
        const bits = bitsByEntry.get(k) ?? 0;
        if (bits & kindBit[t.kind]) journal.fail(`entry ${t.journalDeviceId}/${t.journalRequestId}: two ${t.kind} transfers`);
        bitsByEntry.set(k, bits | kindBit[t.kind]);
      } else if (!unjournalledKinds.has(t.kind)) journal.fail(`transfer ${t.id}: a ${t.kind} without a journal entry`);
    }
    if (page.length < pageRows) break;
    after = page[page.length - 1]!.id;
  }

  const totals: Record<string, number> = {};
  for (const a of accounts.values()) {
    const recomputed = running.get(a.id) ?? 0;
    if (recomputed !== a.balance) balances.fail(`${a.id}: stored balance ${a.balance}, recomputed ${recomputed}`);
    if (a.balance < a.floor) balances.fail(`${a.id}: balance ${a.balance} below floor ${a.floor}`);
    totals[a.currency] = (totals[a.currency] ?? 0) + a.balance;
  }
  for (const [currency, total] of Object.entries(totals)) if (total !== 0) conservation.fail(`${currency}: balances sum to ${total}, not 0`);

  const inClearing = new Map<string, number>();
  let journalEntries = 0;
  for (let after: JournalKey | null = null; ;) {
    const page: JournalEntry[] = await store.scanJournal(after, pageRows);
    for (const e of page) {
      journalEntries += 1;
      const k = journalKeyString(e);
      const bits = bitsByEntry.get(k) ?? 0;
      bitsByEntry.delete(k);
      if (bits !== expectedBits[e.state]) journal.fail(`entry ${e.deviceId}/${e.requestId}: state ${e.state} but transfers ${describeBits(bits)}`);
      if (inClearingStates.has(e.state) && e.currency !== null && e.amount !== null) inClearing.set(e.currency, (inClearing.get(e.currency) ?? 0) + e.amount);
      if ((e.state === 'withdrawn' || e.state === 'deferred' || e.state === 'received') && e.dueAt === null) liveness.fail(`entry ${e.deviceId}/${e.requestId}: ${e.state} with no due time`);
    }
    if (page.length < pageRows) break;
    after = page[page.length - 1]!;
  }
  for (const k of bitsByEntry.keys()) journal.fail(`transfers point at a missing journal entry ${k.replace('\u0000', '/')}`);
  for (const a of accounts.values()) {
    if (a.kind !== 'clearing') continue;
    const expected = inClearing.get(a.currency) ?? 0;
    if (a.balance !== expected) clearing.fail(`${a.id}: balance ${a.balance}, entries in clearing sum to ${expected}`);
  }

  const checks = [...[chain, balances, conservation, journal, clearing, liveness].map((c) => c.done()), await auditEmoney(store, accounts), await auditCards(store)];
  return { ok: checks.every((c) => c.ok), checks, accounts: accounts.size, transfers, journalEntries, totals };
}

export function describeBits(bits: number): string {
  // Kinds of one bit only: a card movement's two bits read as withdraw+deposit.
  const kinds = (Object.entries(kindBit) as [TransferKind, number][]).filter(([, bit]) => bit !== 0 && (bit & (bit - 1)) === 0 && bits & bit).map(([kind]) => kind);
  return kinds.length === 0 ? 'none' : kinds.join('+');
}
