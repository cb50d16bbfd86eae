/** The ledger's records. Money is always an integer count of minor units. */
import { z } from 'zod';
import { AgeBand, limits } from '../protocol/index.ts';
import type { DeviceKind, EmoneyToken, ReasonCode, Ticket } from '../protocol/index.ts';

/** `card-receivable`: what the card scheme owes us for captured card sales (claim 36, docs/card-settlement.md). */
export const accountKinds = ['customer', 'merchant', 'clearing', 'issuer-float', 'external-funding', 'fees', 'card-receivable'] as const;
export type AccountKind = (typeof accountKinds)[number];
/** System accounts live on branch 000; at most one of each of these kinds per currency. New kinds go last: existing ledgers keep their numbers. */
export const systemAccountKinds: readonly AccountKind[] = ['external-funding', 'clearing', 'fees', 'issuer-float', 'card-receivable'];

export const accountStatuses = ['active', 'frozen', 'closed'] as const;
export type AccountStatus = (typeof accountStatuses)[number];

/** Attributes used by eligibility rules (claim 14). Verified by the operator at enrollment. */
export const CustomerAttributes = z.strictObject({
  ageBand: AgeBand.optional(),
  memberships: z.array(z.string().min(1).max(limits.membershipLengthMax)).max(limits.membershipsMax).optional(),
});
export type CustomerAttributes = z.infer<typeof CustomerAttributes>;

export interface Account {
  id: string;
  kind: AccountKind;
  currency: string;
  name: string;
  balance: number;
  /** The balance may never go below this. The external funding account has the lowest floor: money enters only through it. */
  floor: number;
  status: AccountStatus;
  attributes: CustomerAttributes;
  createdAt: number;
}

export interface Device {
  id: string;
  kind: DeviceKind;
  /** The merchant account this device sells for. */
  merchant: string;
  status: 'active' | 'revoked';
  createdAt: number;
}

export interface Wallet {
  id: string;
  /** The customer account this phone wallet pays from. */
  account: string;
  status: 'active' | 'blocked';
  /** The highest counter used on a wallet API request (statement, cancel); -1 before the first. */
  requestCounter: number;
  createdAt: number;
  /** Set when the core blocked the wallet for an offline debt it could not collect (issue 5): which settlement, and why. */
  blockedBy?: WalletBlock;
}

/** An offline debt that failed: the settlement whose decline blocked the wallet. */
export interface WalletBlock {
  reason: ReasonCode;
  deviceId: string;
  requestId: string;
  at: number;
}

/**
 * `emoney-issue` (payer → issuer float) and `emoney-deposit` (float → holder) are e-money's (claims 34–35); they carry a reference, not a journal entry.
 * `card-capture` (card receivable → merchant) and `card-reversal` (merchant → card receivable) are card sales' (claim 36), one per card journal entry.
 */
export const transferKinds = ['fund', 'withdraw', 'deposit', 'reverse', 'cancel', 'emoney-issue', 'emoney-deposit', 'card-capture', 'card-reversal'] as const;
export type TransferKind = (typeof transferKinds)[number];

/** One immutable double-entry transfer; it records each side's balance after it (claims 3, 38). */
export interface Transfer {
  id: number;
  kind: TransferKind;
  from: string;
  to: string;
  amount: number;
  currency: string;
  fromBalanceAfter: number;
  toBalanceAfter: number;
  /** The journal entry that caused it, if any. */
  journalDeviceId: string | null;
  journalRequestId: string | null;
  /** Idempotency key of an operator transfer (funding). */
  reference: string | null;
  at: number;
}
export type NewTransfer = Omit<Transfer, 'id'>;

export const journalStates = ['received', 'declined', 'withdrawn', 'deferred', 'deposited', 'cancelled', 'reversed'] as const;
export type JournalState = (typeof journalStates)[number];

/** One settle request in the journal (claims 29–33), keyed on (deviceId, requestId). */
export interface JournalEntry {
  /** Arrival order, assigned by the store on insert; null until then. */
  seq: number | null;
  deviceId: string;
  requestId: string;
  /** SHA-256 of the request's business content: a resend with other content is a duplicate-mismatch. */
  fingerprint: string;
  state: JournalState;
  reason: ReasonCode | null;
  walletId: string | null;
  /** Set only once the cryptogram verified: the (wallet, counter) pair is then consumed. */
  counter: number | null;
  payer: string | null;
  merchant: string | null;
  article: string | null;
  amount: number | null;
  currency: string | null;
  /** Claim 13: no deposit before this time (cooling-off); null if none. */
  depositNotBefore: number | null;
  /** The device promised an outcome and it has not arrived yet. */
  awaitingOutcome: boolean;
  /** When the engine must next look at this entry; null in final states. */
  dueAt: number | null;
  outcome: string | null;
  outcomeRequestId: string | null;
  /** The request as received (for recovery of `received` entries and for audit). */
  requestJson: string;
  /** The SettleResult as sent, byte for byte; empty until decided. */
  resultJson: string;
  receivedAt: number;
  updatedAt: number;
}

export interface JournalKey {
  deviceId: string;
  requestId: string;
}

export const journalKeyString = (k: JournalKey): string => `${k.deviceId}\u0000${k.requestId}`;

export interface StatementLine {
  transferId: number;
  at: number;
  kind: TransferKind;
  /** Signed: negative when money left the account. */
  amount: number;
  currency: string;
  balanceAfter: number;
  counterparty: string;
  journalDeviceId: string | null;
  journalRequestId: string | null;
}

/** A ticket the core minted (claims 15–16), kept so its wallet can fetch it again (the phone may have left before the kiosk wrote it). */
export interface IssuedTicket {
  ticket: Ticket;
  /** The settlement that paid for it. */
  deviceId: string;
  requestId: string;
}

/** An e-money token as the ledger keeps it (claims 34–35): minted once, spent at most once. */
export interface EmoneyTokenRecord {
  token: EmoneyToken;
  /** The issuance request that minted it. */
  issueRequest: string;
  /** Set, with depositRequest, when a deposit spent it; null while outstanding. */
  spentAt: number | null;
  depositRequest: string | null;
}

/** One decided e-money request, kept so a resend gets the same answer byte for byte. */
export interface EmoneyRequestRecord {
  requestId: string;
  kind: 'issue' | 'deposit';
  /** The wallet that sent it (authenticated). */
  walletId: string;
  /** SHA-256 of the request's content: the same id with other content is refused. */
  fingerprint: string;
  answerJson: string;
  at: number;
}

export interface EmoneySpend {
  serial: string;
  depositRequest: string;
  spentAt: number;
}
