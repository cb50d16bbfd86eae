/**
 * E-money on the wallet API (claims 34–35): the bodies a phone sends, the
 * answers it gets, the reason codes of a decline or refusal, and the limits.
 * Strict schemas: an unknown field is refused, never ignored.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { appletDataLimits } from '../../protocol/applet-tlv.ts';
import { EmoneyToken, Money, UuidV7, WalletId } from '../../protocol/index.ts';

export const emoneyLimits = {
  /** Largest single issuance, minor units: a phone purse, not a bank transfer (500.00 in a two-decimal currency, as the largest purchase). */
  issueAmountMinorMax: 50_000,
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
  tokens: z.array(EmoneyToken).min(1).max(emoneyLimits.depositTokensMax),
});
export type EmoneyDepositBody = z.infer<typeof EmoneyDepositBody>;

/** Stable reason codes of a declined issuance or refused deposit; never renumbered, never reused. */
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
  /** The amount is over emoneyLimits.issueAmountMinorMax. */
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
export type EmoneyReason = (typeof emoneyReasons)[number];

export type EmoneyIssueAnswer =
  | { requestId: string; status: 'issued'; tokens: EmoneyToken[] }
  | { requestId: string; status: 'declined'; reason: EmoneyReason };

export type EmoneyDepositAnswer =
  | { requestId: string; status: 'deposited'; amount: Money; serials: string[] }
  | { requestId: string; status: 'refused'; reason: EmoneyReason; serial: string | null };

/** What the core answers: the decision (new or replayed, byte for byte), or a refusal of a request id used with other content. */
export type EmoneyReply<A> = { kind: 'answer'; answer: A; json: string; replay: boolean } | { kind: 'mismatch' };

const tokenContent = (t: EmoneyToken): unknown[] => [t.serial, t.amount.minor, t.amount.currency, t.holder, t.issuedAt, t.float, t.keyId, t.sig];

/** SHA-256 over the request's content and its sender: the same id from another wallet, or for the other kind, is a mismatch too. */
export function emoneyFingerprint(walletId: string, body: { kind: 'issue'; value: EmoneyIssueBody } | { kind: 'deposit'; value: EmoneyDepositBody }): string {
  const content = body.kind === 'issue'
    ? ['issue', walletId, body.value.requestId, body.value.amount.minor, body.value.amount.currency, body.value.recipient]
    : ['deposit', walletId, body.value.requestId, body.value.tokens.map(tokenContent)];
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/** Two tokens are the same document: every signed field and the signature. */
export const sameToken = (a: EmoneyToken, b: EmoneyToken): boolean => JSON.stringify(tokenContent(a)) === JSON.stringify(tokenContent(b));
