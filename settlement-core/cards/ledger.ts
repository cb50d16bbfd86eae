/**
 * Card sales in the ledger (claim 36, issue 7; docs/card-settlement.md).
 *
 * Capture: an approved authorization becomes money. One transfer debits the
 * currency's `card-receivable` system account (what the card scheme owes
 * us) and credits the merchant. Reversal: one transfer moves it back.
 *
 * Both are kept in the journal, keyed (card:capture | card:reversal,
 * authorizationId): the entry holds the request's fingerprint and the answer
 * byte for byte, so a resend replays it and the same id with other content is
 * refused. A decision that moves money is a `deposited` entry with its one
 * transfer; one that moves nothing (a refused capture, a reversal that found
 * no capture) is a `declined` entry — recorded all the same, which is how a
 * reversal that overtakes its capture wins: the capture finds it and is
 * refused `already-reversed`.
 *
 * Each decision runs as one core task: one transaction, answered after it
 * commits. Nothing here logs; the records carry token and last four only.
 */
import type { ReasonCode } from '../../protocol/index.ts';
import { BatchState } from '../engine/batch-state.ts';
import { CoreError, invariant } from '../errors.ts';
import { journalKeyString } from '../model.ts';
import type { Account, JournalEntry, JournalKey } from '../model.ts';
import type { LedgerTx } from '../store/ledger-store.ts';
import { CardError } from './errors.ts';
import {
  CardLedgerAnswer, CardSaleCapture, CardSaleReversal, captureReference, cardAnswer, cardCaptureDevice, cardFingerprint, cardReversalDevice, noAmount, reversalReference,
} from './ledger-wire.ts';
import type { CardLedgerReason, CardLedgerReply } from './ledger-wire.ts';

const keysOf = (authorizationId: string): { capture: JournalKey; reversal: JournalKey } => ({
  capture: { deviceId: cardCaptureDevice, requestId: authorizationId },
  reversal: { deviceId: cardReversalDevice, requestId: authorizationId },
});

/** The journal's reason column speaks the settlement's codes; the card reason itself is in the stored answer. */
const journalReason: Readonly<Partial<Record<CardLedgerReason, ReasonCode>>> = {
  'unknown-merchant': 'unknown-account',
  'not-a-merchant': 'unknown-account',
  'account-not-active': 'account-not-active',
  'currency-mismatch': 'currency-mismatch',
};

type Parsed<T> = { ok: true; value: T } | { ok: false; error: CoreError };

/** Checks a capture or reversal as it arrives; a bad one is a coded error naming the field, never a value. */
function parseCardInput<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, input: unknown, what: string): Parsed<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return { ok: false, error: new CoreError('TS_ERR_INVALID_ARGUMENT', `${what}: ${field}${issue?.message ?? 'invalid'}`) };
}
export const parseCapture = (input: unknown): Parsed<CardSaleCapture> => parseCardInput(CardSaleCapture, input, 'card capture');
export const parseReversal = (input: unknown): Parsed<CardSaleReversal> => parseCardInput(CardSaleReversal, input, 'card reversal');

/** The answer, or the coded refusal of an id used with other content. */
export function answerOf(reply: CardLedgerReply): CardLedgerAnswer {
  if (reply.kind === 'answer') return reply.answer;
  throw new CardError('TS_ERR_CARD_DUPLICATE_MISMATCH', 'this authorizationId was already used with different content; the first request stands');
}

/** Assert on both sides of the disk: a stored answer is still an answer, for its own id. */
function readBack(e: JournalEntry): CardLedgerAnswer {
  const parsed = CardLedgerAnswer.safeParse(JSON.parse(e.resultJson));
  invariant(parsed.success && parsed.data.authorizationId === e.requestId, () => `the stored card answer of ${e.deviceId}/${e.requestId} does not read back as one`);
  return parsed.data;
}

function replay(prior: JournalEntry, fingerprint: string): CardLedgerReply {
  if (prior.fingerprint !== fingerprint) return { kind: 'mismatch' };
  return { kind: 'answer', answer: readBack(prior), replay: true };
}

interface EntryFields {
  payer: string | null;
  merchant: string | null;
  amount: { minor: number; currency: string };
  reason: ReasonCode | null;
}

function cardEntry(key: JournalKey, fingerprint: string, request: unknown, answer: CardLedgerAnswer, f: EntryFields, now: number): JournalEntry {
  const known = f.amount.minor > 0;
  return {
    seq: null, deviceId: key.deviceId, requestId: key.requestId, fingerprint, state: 'received', reason: f.reason,
    walletId: null, counter: null, payer: f.payer, merchant: f.merchant, article: null,
    amount: known ? f.amount.minor : null, currency: known ? f.amount.currency : null,
    depositNotBefore: null, awaitingOutcome: false, dueAt: null, outcome: null, outcomeRequestId: null,
    requestJson: JSON.stringify(request), resultJson: JSON.stringify(answer), receivedAt: now, updatedAt: now,
  };
}

const batchOver = (accounts: readonly Account[], entries: Map<string, JournalEntry>, now: number): BatchState =>
  new BatchState({ accounts: new Map(accounts.map((a) => [a.id, a])), devices: new Map(), wallets: new Map(), entries, countersUsed: new Set() }, now);

/** Records a decision that moves nothing: a `declined` entry, no transfer. */
async function recordDeclined(tx: LedgerTx, entries: Map<string, JournalEntry>, entry: JournalEntry, answer: CardLedgerAnswer, now: number): Promise<CardLedgerReply> {
  const b = batchOver([], entries, now);
  b.insertEntry({ ...entry, state: 'declined' });
  await tx.apply(b.finish());
  return { kind: 'answer', answer, replay: false };
}

/**
 * Records a decision that moves money: the entry is born `withdrawn` and
 * finished `deposited` in the same batch (the journal's state machine knows
 * no shorter path), with its one transfer, which is both its withdrawal and
 * its deposit: the money never rests in clearing.
 */
async function recordMoved(tx: LedgerTx, b: BatchState, entry: JournalEntry, answer: CardLedgerAnswer): Promise<CardLedgerReply> {
  const e = { ...entry, state: 'withdrawn' as const };
  b.insertEntry(e);
  b.updateEntry(e, 'deposited', {});
  const writes = b.finish();
  invariant(writes.transfers.length === 1 && writes.journalInserts.length === 1, 'a card movement is one entry and one transfer');
  await tx.apply(writes);
  return { kind: 'answer', answer, replay: false };
}

async function receivableFor(tx: LedgerTx, currency: string): Promise<Account> {
  const [receivable] = await tx.findAccounts('card-receivable', currency);
  if (!receivable) throw new CoreError('TS_ERR_CURRENCY', `no card-receivable account for ${currency}; run \`tapsettle ledger init --currency ${currency}\` (it adds the missing system accounts)`);
  return receivable;
}

/** A capture: replay, or refuse (recorded), or move receivable → merchant (recorded). */
export async function decideCapture(tx: LedgerTx, input: CardSaleCapture, now: number): Promise<CardLedgerReply> {
  const keys = keysOf(input.authorizationId);
  const entries = await tx.getJournalEntries([keys.capture, keys.reversal]);
  const fingerprint = cardFingerprint({ kind: 'capture', value: input });
  const prior = entries.get(journalKeyString(keys.capture));
  if (prior) return replay(prior, fingerprint);

  const refuse = (reason: CardLedgerReason): Promise<CardLedgerReply> => {
    const answer = cardAnswer(input.authorizationId, 'refused', input.amount, now, reason);
    const entry = cardEntry(keys.capture, fingerprint, input, answer, { payer: null, merchant: input.merchant, amount: input.amount, reason: journalReason[reason] ?? null }, now);
    return recordDeclined(tx, entries, entry, answer, now);
  };
  // A reversal recorded before its capture wins (a timeout reversed the sale while the capture was on its way).
  if (entries.has(journalKeyString(keys.reversal))) return refuse('already-reversed');
  const merchant = (await tx.getAccounts([input.merchant])).get(input.merchant);
  if (!merchant) return refuse('unknown-merchant');
  if (merchant.kind !== 'merchant') return refuse('not-a-merchant');
  if (merchant.status !== 'active') return refuse('account-not-active');
  if (merchant.currency !== input.amount.currency) return refuse('currency-mismatch');

  const receivable = await receivableFor(tx, input.amount.currency);
  const b = batchOver([receivable, merchant], entries, now);
  // The receivable's floor is the ledger's most negative balance (admin.ts): reaching it takes 10^10 largest sales, so move() asserts it.
  b.move('card-capture', receivable.id, merchant.id, input.amount.minor, keys.capture, captureReference(input.authorizationId));
  const answer = cardAnswer(input.authorizationId, 'captured', input.amount, now);
  return recordMoved(tx, b, cardEntry(keys.capture, fingerprint, input, answer, { payer: receivable.id, merchant: merchant.id, amount: input.amount, reason: null }, now), answer);
}

/** A reversal: replay, or record `not-captured`, or move merchant → receivable once (recorded); a refusal is not recorded. */
export async function decideReversal(tx: LedgerTx, input: CardSaleReversal, now: number): Promise<CardLedgerReply> {
  const keys = keysOf(input.authorizationId);
  const entries = await tx.getJournalEntries([keys.capture, keys.reversal]);
  const fingerprint = cardFingerprint({ kind: 'reversal', value: input });
  const prior = entries.get(journalKeyString(keys.reversal));
  if (prior) return replay(prior, fingerprint);

  const capture = entries.get(journalKeyString(keys.capture));
  if (capture?.state !== 'deposited') {
    // Nothing was captured (never, or refused): recorded, so a capture arriving later is refused.
    const amount = input.amount ?? (capture?.amount != null && capture.currency !== null ? { minor: capture.amount, currency: capture.currency } : noAmount);
    const answer = cardAnswer(input.authorizationId, 'not-captured', amount, now);
    return recordDeclined(tx, entries, cardEntry(keys.reversal, fingerprint, input, answer, { payer: null, merchant: null, amount, reason: null }, now), answer, now);
  }
  invariant(capture.amount !== null && capture.currency !== null && capture.payer !== null && capture.merchant !== null, () => `captured card entry ${capture.requestId} lacks its amount or accounts`);
  const amount = { minor: capture.amount, currency: capture.currency };
  const unrecorded = (reason: CardLedgerReason): CardLedgerReply => ({ kind: 'answer', answer: cardAnswer(input.authorizationId, 'refused', amount, now, reason), replay: false });
  if (input.amount && (input.amount.minor !== amount.minor || input.amount.currency !== amount.currency)) return unrecorded('amount-mismatch');

  const accounts = await tx.getAccounts([capture.merchant, capture.payer]);
  const merchant = accounts.get(capture.merchant);
  const receivable = accounts.get(capture.payer);
  invariant(merchant !== undefined && receivable?.kind === 'card-receivable', () => `the accounts of captured card sale ${capture.requestId} are gone`);
  const b = batchOver([merchant, receivable], entries, now);
  // The merchant may have paid the money on; its floor holds, and the reversal waits until it can be paid.
  if (!b.canDebit(merchant.id, amount.minor)) return unrecorded('insufficient-funds');
  b.move('card-reversal', merchant.id, receivable.id, amount.minor, keys.reversal, reversalReference(input.authorizationId));
  const answer = cardAnswer(input.authorizationId, 'reversed', amount, now);
  return recordMoved(tx, b, cardEntry(keys.reversal, fingerprint, input, answer, { payer: merchant.id, merchant: receivable.id, amount, reason: null }, now), answer);
}
