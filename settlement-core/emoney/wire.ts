/**
 * E-money on the wallet API (claims 34–35), the core's side: the bodies,
 * answers and reason codes are protocol's (protocol/emoney-api.ts, shared
 * with the phone) and re-exported here; the core adds its issuance limit,
 * the request fingerprint and the token comparison.
 */
import { createHash } from 'node:crypto';
import { emoneyApiLimits } from '../../protocol/index.ts';
import type { EmoneyDepositBody, EmoneyIssueBody, EmoneyToken } from '../../protocol/index.ts';

export { EmoneyDepositAnswer, EmoneyDepositBody, EmoneyIssueAnswer, EmoneyIssueBody, EmoneyReason, emoneyReasons } from '../../protocol/index.ts';

export const emoneyLimits = {
  /** Largest single issuance, minor units: a phone purse, not a bank transfer (500.00 in a two-decimal currency, as the largest purchase). */
  issueAmountMinorMax: 50_000,
  /** Tokens per deposit request (protocol's emoneyApiLimits): one request hands back the whole purse. */
  depositTokensMax: emoneyApiLimits.depositTokensMax,
  /** Tokens per inbox answer, and its default: a phone collects at most what its applet can hold. */
  inboxTokensMax: emoneyApiLimits.inboxTokensMax,
  /** Deposit body bytes: 32 tokens of ≤ ~420 bytes and the envelope; the API's 4 KiB message limit holds eight. */
  depositBodyBytesMax: emoneyApiLimits.depositBodyBytesMax,
} as const;

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
