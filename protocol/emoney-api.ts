/**
 * E-money on the wallet API (claims 34–35), the part both sides read: the
 * bodies a phone sends, the answers the core gives, their reason codes and
 * size limits. The core (settlement-core/emoney/wire.ts) decides with these
 * bodies and answers in these shapes; the phone (sim/phone/phone-emoney.ts)
 * checks every answer against them before it believes it. Strict schemas: an
 * unknown field is refused, never ignored.
 */
import { z } from 'zod';
import { appletDataLimits } from './applet-tlv.ts';
import { EmoneyToken } from './documents.ts';
import { UuidV7, WalletId } from './ids.ts';
import { Money } from './money.ts';

export const emoneyApiLimits = {
  /** Tokens per deposit request: the wallet applet holds at most this many, so one request can hand back the whole purse. */
  depositTokensMax: appletDataLimits.emoneyTokensHeldMax,
  /** Tokens per inbox answer, and its default: a phone collects at most what its applet can hold. */
  inboxTokensMax: appletDataLimits.emoneyTokensHeldMax,
  /**
   * Deposit body bytes: a token is at most ~420 bytes of JSON (64-character key id,
   * 9-digit amount), so 32 of them and the envelope fit well under 16 KiB; the
   * wallet API's 4 KiB message limit would hold only eight.
   */
  depositBodyBytesMax: 16 * 1024,
  /** An answer a phone reads: an inbox page or an issue answer holds at most a purse of tokens (32 × ~420 bytes) and its envelope. */
  answerBytesMax: 16 * 1024,
} as const;

/** One token per issuance: the amount asked for, signed whole (denominations would only multiply signatures and rows). */
export const EmoneyIssueBody = z.strictObject({
  /** Chosen by the phone; a resend with the same id and content gets the same answer. */
  requestId: UuidV7,
  amount: Money,
  /** The wallet the token is issued to (the payer's own, or another phone's). */
  recipient: WalletId,
});
export type EmoneyIssueBody = z.infer<typeof EmoneyIssueBody>;

export const EmoneyDepositBody = z.strictObject({
  requestId: UuidV7,
  tokens: z.array(EmoneyToken).min(1).max(emoneyApiLimits.depositTokensMax),
});
export type EmoneyDepositBody = z.infer<typeof EmoneyDepositBody>;

/** Stable reason codes of a declined issuance or refused deposit; never renumbered, never reused, new ones at the end. */
export const emoneyReasons = [
  /** No issuer key, or no issuer float account for the currency: this ledger does not issue e-money. */
  'emoney-unavailable',
  /** The recipient wallet is not enrolled. */
  'unknown-wallet',
  /** The recipient wallet is blocked. */
  'wallet-not-active',
  /** The payer's (issue) or holder's (deposit) account is missing, frozen or closed. */
  'account-not-active',
  /** The amount is not in the payer's currency, or a deposit mixes currencies or does not match the holder's account. */
  'currency-mismatch',
  /** The amount is over the core's largest issuance. */
  'over-limit',
  /** The payer's balance would fall below its floor; nothing was minted. */
  'insufficient-funds',
  /** A token's signature does not verify under the issuer key (forged or altered). */
  'bad-signature',
  /** A token verifies but this ledger has no such token (its record differs, or it was never minted here). */
  'unknown-token',
  /** The depositing wallet is not the token's holder. */
  'wrong-holder',
  /** The token was already deposited (a double spend). */
  'already-spent',
  /** The same serial appears twice in one deposit. */
  'duplicate-token',
] as const;
export const EmoneyReason = z.enum(emoneyReasons);
export type EmoneyReason = z.infer<typeof EmoneyReason>;

/** The answer to POST …/emoney/issue: one token for the whole amount, or a decline. */
export const EmoneyIssueAnswer = z.discriminatedUnion('status', [
  z.strictObject({ requestId: UuidV7, status: z.literal('issued'), tokens: z.array(EmoneyToken).min(1).max(appletDataLimits.emoneyTokensHeldMax) }),
  z.strictObject({ requestId: UuidV7, status: z.literal('declined'), reason: EmoneyReason }),
]);
export type EmoneyIssueAnswer = z.infer<typeof EmoneyIssueAnswer>;

/** The answer to POST …/emoney/deposit: all tokens paid out, or all refused with the first reason and its serial. */
export const EmoneyDepositAnswer = z.discriminatedUnion('status', [
  z.strictObject({ requestId: UuidV7, status: z.literal('deposited'), amount: Money, serials: z.array(UuidV7).min(1).max(emoneyApiLimits.depositTokensMax) }),
  z.strictObject({ requestId: UuidV7, status: z.literal('refused'), reason: EmoneyReason, serial: UuidV7.nullable() }),
]);
export type EmoneyDepositAnswer = z.infer<typeof EmoneyDepositAnswer>;

/** The answer to GET …/emoney/inbox: unspent tokens held by the wallet, in serial order; `nextAfter` pages on (null: the last page). */
export const EmoneyInboxPage = z.strictObject({
  walletId: WalletId,
  tokens: z.array(EmoneyToken).max(emoneyApiLimits.inboxTokensMax),
  nextAfter: UuidV7.nullable(),
});
export type EmoneyInboxPage = z.infer<typeof EmoneyInboxPage>;
