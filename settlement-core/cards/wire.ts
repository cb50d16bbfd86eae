/**
 * What the card processing apparatus (gateway/cards) sends the card
 * authentication apparatus (this issuer host) and what it gets back, over
 * HTTP as JSON: `POST /v1/authorizations`. Strict schemas, every field
 * bounded; the gateway validates the issuer's answer with the same schema.
 */
import { z } from 'zod';
import { AccountId, Money, UuidV7 } from '../../protocol/index.ts';
import { CardData, MerchantCategory, Pin } from '../../protocol/card-data.ts';
import { cardReversalReasons } from './ledger-wire.ts';
import { responseCodeList } from './response-codes.ts';
import type { ResponseCode } from './response-codes.ts';
import { cardTokenPattern } from './secrets.ts';

export const issuerWireVersion = 1;

export const AuthorizationRequest = z.strictObject({
  v: z.literal(issuerWireVersion),
  /** Chosen by the phone (UUIDv7) and kept on every resend: the idempotency key, end to end. */
  authorizationId: UuidV7,
  card: CardData,
  /** Needed when the card asks for one (above its PIN threshold); checked whenever given. */
  pin: Pin.optional(),
  amount: Money,
  merchant: AccountId,
  mcc: MerchantCategory,
});
export type AuthorizationRequest = z.infer<typeof AuthorizationRequest>;

export const ResponseCodeSchema = z.enum(responseCodeList as [ResponseCode, ...ResponseCode[]]);

export const AuthorizationResponse = z.strictObject({
  v: z.literal(issuerWireVersion),
  authorizationId: UuidV7,
  responseCode: ResponseCodeSchema,
  approved: z.boolean(),
  /** ISO 8583 DE38, on approval only. */
  approvalCode: z.string().regex(/^[0-9A-Z]{6}$/).nullable(),
  /** The card's token; null when no card matched the number. */
  cardToken: z.string().regex(cardTokenPattern).nullable(),
  last4: z.string().regex(/^\d{4}$/),
  amount: Money,
  decidedAt: z.number().int().min(0).max(2 ** 47),
}).refine((r) => r.approved === (r.responseCode === '00') && (r.approvalCode !== null) === r.approved, 'approved, approvalCode and responseCode disagree');
export type AuthorizationResponse = z.infer<typeof AuthorizationResponse>;

/**
 * The request's content in one fixed order, for its fingerprint. Every field
 * counts, so a resend with another amount, card, CVV or PIN is a different
 * request.
 */
export const canonicalRequest = (r: AuthorizationRequest): string =>
  JSON.stringify([r.v, r.authorizationId, r.card.pan, r.card.expiry, r.card.cvv, r.pin ?? null, r.amount.minor, r.amount.currency, r.merchant, r.mcc]);

/**
 * A reversal in the ISO 8583 0400 manner: `POST /v1/reversals`. The acquirer
 * undoes an authorization it will not complete (the sale was not delivered,
 * cancelled, or timed out); an approved one gets its amount back on the
 * card's open-to-buy, once. The amount must be the authorization's: there are
 * no partial reversals.
 */
export const ReversalRequest = z.strictObject({
  v: z.literal(issuerWireVersion),
  authorizationId: UuidV7,
  amount: Money,
  reason: z.enum(cardReversalReasons),
});
export type ReversalRequest = z.infer<typeof ReversalRequest>;

/**
 * `reversed`: the authorization was approved; its amount is back on open-to-buy.
 * `not-approved`: it was declined, so nothing was taken and nothing is given back.
 * `unknown-authorization`: no authorization has this id (yet): recorded, and an
 * authorization arriving later with this id is declined 05 — the reversal wins.
 */
export const reversalStatuses = ['reversed', 'not-approved', 'unknown-authorization'] as const;
export type ReversalStatus = (typeof reversalStatuses)[number];

export const ReversalResponse = z.strictObject({
  v: z.literal(issuerWireVersion),
  authorizationId: UuidV7,
  status: z.enum(reversalStatuses),
  amount: Money,
  /** What went back on the card's open-to-buy: the amount when reversed, else 0. */
  restoredMinor: z.number().int().min(0),
  cardToken: z.string().regex(cardTokenPattern).nullable(),
  decidedAt: z.number().int().min(0).max(2 ** 47),
}).refine((r) => r.restoredMinor === (r.status === 'reversed' ? r.amount.minor : 0), 'status and restoredMinor disagree');
export type ReversalResponse = z.infer<typeof ReversalResponse>;

/** A reversal's content in one fixed order, for its fingerprint: the same id with another amount or reason is another request. */
export const canonicalReversal = (r: ReversalRequest): string =>
  JSON.stringify(['reversal', r.v, r.authorizationId, r.amount.minor, r.amount.currency, r.reason]);
