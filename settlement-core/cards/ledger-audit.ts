/**
 * The card check of the audit (claim 36, docs/card-settlement.md). The
 * journal check already proves each card entry has exactly its one transfer;
 * this one proves the card rules across entries and the money:
 *
 * - a card entry is `deposited` (money moved) or `declined` (recorded, moved
 *   nothing), and its stored answer says the same (captured / reversed, or
 *   refused / not-captured);
 * - a reversal that moved money follows a capture that moved the same amount
 *   between the same two accounts; a reversal that moved nothing has no
 *   capture that moved money; a capture refused `already-reversed` has its
 *   reversal;
 * - each card receivable's balance is minus what the scheme still owes:
 *   captures less reversals less the scheme's payouts (`fund` transfers into
 *   it, admin.ts), and never above 0.
 *
 * It reads only the two card ranges of the journal (its keys sort together)
 * and the receivable accounts with their statements, so it costs nothing on a
 * ledger without cards.
 */
import type { AuditCheck } from '../audit.ts';
import type { JournalEntry, JournalKey, Transfer } from '../model.ts';
import type { LedgerStore } from '../store/ledger-store.ts';
import { CardLedgerAnswer, cardCaptureDevice, cardReversalDevice } from './ledger-wire.ts';

/** Rows read per page; problems kept (the rest are counted), as the other checks do. */
const pageRows = 10_000;
const problemsMax = 20;
/** Receivable accounts read: one per currency. */
const receivablesMax = 1000;

interface CardRecord {
  state: JournalEntry['state'];
  status: CardLedgerAnswer['status'] | null;
  reason: string | null;
  payer: string | null;
  merchant: string | null;
  amount: number | null;
  currency: string | null;
}

async function cardRange(store: LedgerStore, deviceId: string, fail: (p: string) => void): Promise<Map<string, CardRecord>> {
  const out = new Map<string, CardRecord>();
  for (let after: JournalKey = { deviceId, requestId: '' }; ;) {
    const page = await store.scanJournal(after, pageRows);
    for (const e of page) {
      if (e.deviceId !== deviceId) return out;
      const parsed = CardLedgerAnswer.safeParse(JSON.parse(e.resultJson));
      if (!parsed.success || parsed.data.authorizationId !== e.requestId) fail(`${deviceId}/${e.requestId}: the stored answer is not a card answer for this id`);
      const answer = parsed.success ? parsed.data : null;
      out.set(e.requestId, { state: e.state, status: answer?.status ?? null, reason: answer?.reason ?? null, payer: e.payer, merchant: e.merchant, amount: e.amount, currency: e.currency });
    }
    if (page.length < pageRows) return out;
    after = page[page.length - 1]!;
  }
}

const expectedStatus: Readonly<Record<string, Partial<Record<JournalEntry['state'], CardLedgerAnswer['status']>>>> = {
  [cardCaptureDevice]: { deposited: 'captured', declined: 'refused' },
  [cardReversalDevice]: { deposited: 'reversed', declined: 'not-captured' },
};

/** A card transfer belongs to its own kind of card entry, and a card entry has only card transfers (the journal check counts them). */
export function cardTransferProblem(t: Pick<Transfer, 'id' | 'kind' | 'journalDeviceId'>): string | null {
  const device = t.kind === 'card-capture' ? cardCaptureDevice : t.kind === 'card-reversal' ? cardReversalDevice : null;
  const ofCard = t.journalDeviceId === cardCaptureDevice || t.journalDeviceId === cardReversalDevice;
  if (device === null && !ofCard) return null;
  return t.journalDeviceId === device ? null : `transfer ${t.id}: a ${t.kind} of journal device ${String(t.journalDeviceId)}`;
}

/** What the scheme paid into a receivable: its `fund` lines, read from its statement newest first. */
async function schemePayouts(store: LedgerStore, account: string): Promise<number> {
  let paid = 0;
  for (let before: number | undefined; ;) {
    const page = await store.statement(account, { limit: pageRows, ...(before !== undefined ? { beforeTransferId: before } : {}) });
    for (const line of page) if (line.kind === 'fund') paid += line.amount;
    if (page.length < pageRows) return paid;
    before = page[page.length - 1]!.transferId;
  }
}

export async function auditCards(store: LedgerStore): Promise<AuditCheck> {
  const problems: string[] = [];
  let more = 0;
  const fail = (p: string) => {
    if (problems.length < problemsMax) problems.push(p);
    else more += 1;
  };
  const captures = await cardRange(store, cardCaptureDevice, fail);
  const reversals = await cardRange(store, cardReversalDevice, fail);
  const outstanding = new Map<string, number>();
  const owe = (account: string | null, amount: number | null) => {
    if (account !== null && amount !== null) outstanding.set(account, (outstanding.get(account) ?? 0) + amount);
  };

  for (const [device, records] of [[cardCaptureDevice, captures], [cardReversalDevice, reversals]] as const) {
    for (const [id, r] of records) {
      const expected = expectedStatus[device]![r.state];
      if (expected === undefined) fail(`${device}/${id}: state ${r.state}, a card entry is deposited or declined`);
      else if (r.status !== null && r.status !== expected) fail(`${device}/${id}: state ${r.state} but the answer says ${r.status}`);
    }
  }
  for (const [id, c] of captures) {
    if (c.state === 'deposited') owe(c.payer, c.amount);
    if (c.reason === 'already-reversed' && !reversals.has(id)) fail(`card:capture/${id}: refused already-reversed, but no reversal is recorded`);
  }
  for (const [id, r] of reversals) {
    const c = captures.get(id);
    if (r.state === 'deposited') {
      owe(r.merchant, r.amount === null ? null : -r.amount);
      if (c?.state !== 'deposited') fail(`card:reversal/${id}: moved money back, but no capture moved it`);
      else if (c.amount !== r.amount || c.currency !== r.currency || c.merchant !== r.payer || c.payer !== r.merchant) fail(`card:reversal/${id}: ${r.amount} ${r.currency} ${r.payer} → ${r.merchant} does not undo the capture ${c.amount} ${c.currency} ${c.payer} → ${c.merchant}`);
    } else if (r.state === 'declined' && c?.state === 'deposited') {
      fail(`card:reversal/${id}: recorded not-captured, yet the capture moved money`);
    }
  }
  for (const a of await store.listAccounts({ kind: 'card-receivable', limit: receivablesMax })) {
    const out = outstanding.get(a.id) ?? 0;
    outstanding.delete(a.id);
    const paid = await schemePayouts(store, a.id);
    if (a.balance !== paid - out) fail(`${a.id}: card receivable balance ${a.balance}, captures not reversed sum to ${out} and the scheme paid ${paid}`);
    if (a.balance > 0) fail(`${a.id}: card receivable balance ${a.balance} is above 0: the scheme paid more than it owed`);
  }
  for (const [id, out] of outstanding) if (out !== 0) fail(`card sales name ${id} as their receivable, which is not a card-receivable account`);
  if (more > 0) problems.push(`… and ${more} more`);
  return { name: 'cards', ok: problems.length === 0, problems };
}
