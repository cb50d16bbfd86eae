/**
 * Row ↔ record mapping for the PostgreSQL store. Values read back are checked,
 * not trusted: pg returns BIGINT as a string, which is parsed and must be a
 * safe integer (money beyond 2^53 would be silently rounded by a JS number).
 */
import { invariant } from '../../errors.ts';
import { CustomerAttributes } from '../../model.ts';
import type { Account, Device, JournalEntry, StatementLine, Transfer, Wallet } from '../../model.ts';

export type Row = Record<string, unknown>;

const digits = /^-?\d{1,16}$/;

/** An INTEGER (number) or BIGINT (string) column. */
export const int = (v: unknown, what: string): number => {
  const n = typeof v === 'string' && digits.test(v) ? Number(v) : v;
  invariant(typeof n === 'number' && Number.isSafeInteger(n), () => `${what} read back as ${String(v)}`);
  return n;
};
const intOrNull = (v: unknown, what: string): number | null => (v === null ? null : int(v, what));
const str = (v: unknown, what: string): string => {
  invariant(typeof v === 'string', () => `${what} read back as ${String(v)}`);
  return v;
};
const strOrNull = (v: unknown, what: string): string | null => (v === null ? null : str(v, what));
const bool = (v: unknown, what: string): boolean => {
  invariant(typeof v === 'boolean', () => `${what} read back as ${String(v)}`);
  return v;
};

const noAttributes: CustomerAttributes = Object.freeze({});

/** JSONB comes back parsed. Most accounts have none; the rest are checked against the schema they were written with. */
function parseAttributes(v: unknown): CustomerAttributes {
  invariant(typeof v === 'object' && v !== null && !Array.isArray(v), () => `account.attributes read back as ${String(v)}`);
  return Object.keys(v).length === 0 ? noAttributes : CustomerAttributes.parse(v);
}

export const accountColumns = 'id, kind, currency, name, balance, floor, status, attributes, created_at';

export function accountFromRow(r: Row): Account {
  const account: Account = {
    id: str(r.id, 'account.id'),
    kind: str(r.kind, 'account.kind') as Account['kind'],
    currency: str(r.currency, 'account.currency'),
    name: str(r.name, 'account.name'),
    balance: int(r.balance, 'account.balance'),
    floor: int(r.floor, 'account.floor'),
    status: str(r.status, 'account.status') as Account['status'],
    attributes: parseAttributes(r.attributes),
    createdAt: int(r.created_at, 'account.created_at'),
  };
  invariant(account.balance >= account.floor, () => `account ${account.id} balance ${account.balance} below floor ${account.floor}`);
  return account;
}

export const accountToValues = (a: Account): unknown[] => [
  a.id, Number(a.id.slice(0, 3)), Number(a.id.slice(4)), a.kind, a.currency, a.name, a.balance, a.floor, a.status, JSON.stringify(a.attributes), a.createdAt,
];

export const deviceColumns = 'id, kind, merchant, status, created_at';

export const deviceFromRow = (r: Row): Device => ({
  id: str(r.id, 'device.id'),
  kind: str(r.kind, 'device.kind') as Device['kind'],
  merchant: str(r.merchant, 'device.merchant'),
  status: str(r.status, 'device.status') as Device['status'],
  createdAt: int(r.created_at, 'device.created_at'),
});

export const walletColumns = 'id, account, status, request_counter, created_at';

export const walletFromRow = (r: Row): Wallet => ({
  id: str(r.id, 'wallet.id'),
  account: str(r.account, 'wallet.account'),
  status: str(r.status, 'wallet.status') as Wallet['status'],
  requestCounter: int(r.request_counter, 'wallet.request_counter'),
  createdAt: int(r.created_at, 'wallet.created_at'),
});

/** Column name and array type of each inserted transfer column, in insert order. */
export const transferInsertColumns = [
  ['kind', 'text'], ['from_account', 'text'], ['to_account', 'text'], ['amount', 'bigint'], ['currency', 'text'],
  ['from_balance_after', 'bigint'], ['to_balance_after', 'bigint'], ['journal_device', 'text'], ['journal_request', 'text'],
  ['reference', 'text'], ['at', 'bigint'],
] as const;

export const transferColumns = `id, ${transferInsertColumns.map(([c]) => c).join(', ')}`;

export const transferToValues = (t: Omit<Transfer, 'id'>): unknown[] => [
  t.kind, t.from, t.to, t.amount, t.currency, t.fromBalanceAfter, t.toBalanceAfter, t.journalDeviceId, t.journalRequestId, t.reference, t.at,
];

export function transferFromRow(r: Row): Transfer {
  const t: Transfer = {
    id: int(r.id, 'transfer.id'),
    kind: str(r.kind, 'transfer.kind') as Transfer['kind'],
    from: str(r.from_account, 'transfer.from'),
    to: str(r.to_account, 'transfer.to'),
    amount: int(r.amount, 'transfer.amount'),
    currency: str(r.currency, 'transfer.currency'),
    fromBalanceAfter: int(r.from_balance_after, 'transfer.from_balance_after'),
    toBalanceAfter: int(r.to_balance_after, 'transfer.to_balance_after'),
    journalDeviceId: strOrNull(r.journal_device, 'transfer.journal_device'),
    journalRequestId: strOrNull(r.journal_request, 'transfer.journal_request'),
    reference: strOrNull(r.reference, 'transfer.reference'),
    at: int(r.at, 'transfer.at'),
  };
  invariant(t.amount > 0 && t.from !== t.to, () => `transfer ${t.id} is not a movement between two accounts`);
  return t;
}

export const journalInsertColumns = [
  ['device_id', 'text'], ['request_id', 'text'], ['fingerprint', 'text'], ['state', 'text'], ['reason', 'text'],
  ['wallet_id', 'text'], ['counter', 'bigint'], ['payer', 'text'], ['merchant', 'text'], ['article', 'text'],
  ['amount', 'bigint'], ['currency', 'text'], ['deposit_not_before', 'bigint'], ['awaiting_outcome', 'boolean'],
  ['due_at', 'bigint'], ['outcome', 'text'], ['outcome_request_id', 'text'], ['request_json', 'text'],
  ['result_json', 'text'], ['received_at', 'bigint'], ['updated_at', 'bigint'],
] as const;

export const journalColumns = `seq, ${journalInsertColumns.map(([c]) => c).join(', ')}`;

export const journalToValues = (e: JournalEntry): unknown[] => [
  e.deviceId, e.requestId, e.fingerprint, e.state, e.reason, e.walletId, e.counter, e.payer, e.merchant, e.article,
  e.amount, e.currency, e.depositNotBefore, e.awaitingOutcome, e.dueAt, e.outcome, e.outcomeRequestId, e.requestJson,
  e.resultJson, e.receivedAt, e.updatedAt,
];

export const journalFromRow = (r: Row): JournalEntry => ({
  seq: int(r.seq, 'journal.seq'),
  deviceId: str(r.device_id, 'journal.device_id'),
  requestId: str(r.request_id, 'journal.request_id'),
  fingerprint: str(r.fingerprint, 'journal.fingerprint'),
  state: str(r.state, 'journal.state') as JournalEntry['state'],
  reason: strOrNull(r.reason, 'journal.reason') as JournalEntry['reason'],
  walletId: strOrNull(r.wallet_id, 'journal.wallet_id'),
  counter: intOrNull(r.counter, 'journal.counter'),
  payer: strOrNull(r.payer, 'journal.payer'),
  merchant: strOrNull(r.merchant, 'journal.merchant'),
  article: strOrNull(r.article, 'journal.article'),
  amount: intOrNull(r.amount, 'journal.amount'),
  currency: strOrNull(r.currency, 'journal.currency'),
  depositNotBefore: intOrNull(r.deposit_not_before, 'journal.deposit_not_before'),
  awaitingOutcome: bool(r.awaiting_outcome, 'journal.awaiting_outcome'),
  dueAt: intOrNull(r.due_at, 'journal.due_at'),
  outcome: strOrNull(r.outcome, 'journal.outcome'),
  outcomeRequestId: strOrNull(r.outcome_request_id, 'journal.outcome_request_id'),
  requestJson: str(r.request_json, 'journal.request_json'),
  resultJson: str(r.result_json, 'journal.result_json'),
  receivedAt: int(r.received_at, 'journal.received_at'),
  updatedAt: int(r.updated_at, 'journal.updated_at'),
});

export function statementLineFromRow(r: Row, accountId: string): StatementLine {
  const t = transferFromRow(r);
  const outgoing = t.from === accountId;
  return {
    transferId: t.id,
    at: t.at,
    kind: t.kind,
    amount: outgoing ? -t.amount : t.amount,
    currency: t.currency,
    balanceAfter: outgoing ? t.fromBalanceAfter : t.toBalanceAfter,
    counterparty: outgoing ? t.to : t.from,
    journalDeviceId: t.journalDeviceId,
    journalRequestId: t.journalRequestId,
  };
}
