/**
 * Card sales in the ledger (claim 36, issue 7): what the card processing
 * apparatus hands the core after an approval (a capture), or when the sale
 * must be undone (a reversal), and what it gets back. Strict schemas, every
 * field bounded. No card data beyond the issuer's token and the last four
 * digits ever reaches these records. docs/card-settlement.md.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AccountId, Money, UuidV7, limits } from '../../protocol/index.ts';
import { cardTokenPattern } from './secrets.ts';

/**
 * The journal keys card sales live under: (device, authorizationId). A colon
 * is not allowed in a device id, so no device can ever take these keys.
 */
export const cardCaptureDevice = 'card:capture';
export const cardReversalDevice = 'card:reversal';
/** Transfer references: the store's unique reference column is a second lock against a double movement. */
export const captureReference = (authorizationId: string): string => `card-capture:${authorizationId}`;
export const reversalReference = (authorizationId: string): string => `card-reversal:${authorizationId}`;

export const cardReversalReasons = ['not-delivered', 'cancelled', 'timeout', 'operator'] as const;
export type CardReversalReason = (typeof cardReversalReasons)[number];

export const CardSaleCapture = z.strictObject({
  /** The authorization's id (UUIDv7): the idempotency key, end to end. */
  authorizationId: UuidV7,
  /** The merchant account credited. */
  merchant: AccountId,
  amount: Money,
  /** The issuer's token for the card; null when the issuer matched no card (then it approved nothing, but the field is kept as sent). */
  cardToken: z.string().regex(cardTokenPattern).nullable(),
  last4: z.string().regex(/^\d{4}$/, 'expected the last four digits'),
  /** ISO 8583 DE38 of the approval. */
  approvalCode: z.string().regex(/^[0-9A-Z]{6}$/, 'expected a six-character approval code'),
});
export type CardSaleCapture = z.infer<typeof CardSaleCapture>;

export const CardSaleReversal = z.strictObject({
  authorizationId: UuidV7,
  reason: z.enum(cardReversalReasons),
  /** Optional: when given it must equal the captured amount; it is echoed when nothing was captured. */
  amount: Money.optional(),
});
export type CardSaleReversal = z.infer<typeof CardSaleReversal>;

/** Stable codes of a refused capture or reversal; never renumbered, never reused. */
export const cardLedgerReasons = [
  /** Capture: no account with the merchant's id. Final. */
  'unknown-merchant',
  /** Capture: the account named is not a merchant account. Final. */
  'not-a-merchant',
  /** Capture: the merchant account is frozen or closed. Final. */
  'account-not-active',
  /** Capture: the amount is not in the merchant account's currency. Final. */
  'currency-mismatch',
  /** Capture: a reversal of this authorization was recorded first; the reversal wins. Final. */
  'already-reversed',
  /** Reversal: the merchant's balance would fall below its floor. Not recorded: send it again later. */
  'insufficient-funds',
  /** Reversal: the amount given is not the amount captured. Not recorded. */
  'amount-mismatch',
] as const;
export type CardLedgerReason = (typeof cardLedgerReasons)[number];

/** Reasons after which nothing is recorded: the same request sent again is decided again. */
export const unrecordedReasons: ReadonlySet<CardLedgerReason> = new Set(['insufficient-funds', 'amount-mismatch']);

export const cardLedgerStatuses = ['captured', 'reversed', 'not-captured', 'refused'] as const;

/**
 * The amount of a reversal that names none and found no capture: zero of
 * XXX, the ISO 4217 code for "no currency".
 */
export const noAmount = { minor: 0, currency: 'XXX' } as const;

export const CardLedgerAnswer = z.strictObject({
  authorizationId: UuidV7,
  status: z.enum(cardLedgerStatuses),
  /** Set when refused. */
  reason: z.enum(cardLedgerReasons).optional(),
  amount: z.strictObject({ minor: z.number().int().min(0).max(limits.amountMinorMax), currency: z.string().regex(/^[A-Z]{3}$/) }),
  /** When it was decided (ms); a resend gets the stored answer, this time included. */
  at: z.number().int().min(0),
});
export type CardLedgerAnswer = z.infer<typeof CardLedgerAnswer>;

/** What the decision functions return: an answer (new or replayed), or the id used with other content. */
export type CardLedgerReply = { kind: 'answer'; answer: CardLedgerAnswer; replay: boolean } | { kind: 'mismatch' };

/** SHA-256 over the request's content in a fixed order: the same id with any other field is another request. */
export function cardFingerprint(r: { kind: 'capture'; value: CardSaleCapture } | { kind: 'reversal'; value: CardSaleReversal }): string {
  const content = r.kind === 'capture'
    ? ['capture', r.value.authorizationId, r.value.merchant, r.value.amount.minor, r.value.amount.currency, r.value.cardToken, r.value.last4, r.value.approvalCode]
    : ['reversal', r.value.authorizationId, r.value.reason, r.value.amount?.minor ?? null, r.value.amount?.currency ?? null];
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/** The answer in one fixed key order, so a stored answer and a new one serialize alike. */
export function cardAnswer(authorizationId: string, status: CardLedgerAnswer['status'], amount: { minor: number; currency: string }, at: number, reason?: CardLedgerReason): CardLedgerAnswer {
  return { authorizationId, status, ...(reason !== undefined ? { reason } : {}), amount: { minor: amount.minor, currency: amount.currency }, at };
}
