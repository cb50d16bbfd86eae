/**
 * Row ↔ record mapping for the PostgreSQL store: its column readers, column
 * lists and the values of its writes. pg returns BIGINT as a string, which is
 * parsed and must be a safe integer (money beyond 2^53 would be silently
 * rounded by a JS number).
 */
import { invariant } from '../../errors.ts';
import { CustomerAttributes } from '../../model.ts';
import type { Account, JournalEntry, Transfer } from '../../model.ts';
import { rowMappers } from '../row-mapping.ts';

export type { Row } from '../row-mapping.ts';

const digits = /^-?\d{1,16}$/;
const noAttributes: CustomerAttributes = Object.freeze({});

/** An INTEGER (number) or BIGINT (string) column. */
export const int = (v: unknown, what: string): number => {
  const n = typeof v === 'string' && digits.test(v) ? Number(v) : v;
  invariant(typeof n === 'number' && Number.isSafeInteger(n), () => `${what} read back as ${String(v)}`);
  return n;
};

export const accountColumns = 'id, kind, currency, name, balance, floor, status, attributes, created_at';

export const accountToValues = (a: Account): unknown[] => [
  a.id, Number(a.id.slice(0, 3)), Number(a.id.slice(4)), a.kind, a.currency, a.name, a.balance, a.floor, a.status, JSON.stringify(a.attributes), a.createdAt,
];

export const deviceColumns = 'id, kind, merchant, status, created_at';

export const walletColumns = 'id, account, status, request_counter, created_at, blocked_reason, blocked_device, blocked_request, blocked_at';

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

export const { accountFromRow, deviceFromRow, walletFromRow, transferFromRow, journalFromRow, statementLineFromRow, issuedTicketFromRow } = rowMappers({
  int,
  bool: (v, what) => {
    invariant(typeof v === 'boolean', () => `${what} read back as ${String(v)}`);
    return v;
  },
  /** JSONB comes back parsed; most accounts have none, the rest are checked against the schema they were written with. */
  attributes: (v, what) => {
    invariant(typeof v === 'object' && v !== null && !Array.isArray(v), () => `${what} read back as ${String(v)}`);
    return Object.keys(v).length === 0 ? noAttributes : CustomerAttributes.parse(v);
  },
});

/** Column name and array type of each inserted ticket column, in the order of issuedTicketToValues. */
export const ticketInsertColumns = [
  ['ticket_id', 'text'], ['wallet_id', 'text'], ['device_id', 'text'], ['request_id', 'text'], ['issued_at', 'bigint'], ['ticket_json', 'text'],
] as const;

export const ticketColumns = `seq, ${ticketInsertColumns.map(([c]) => c).join(', ')}`;
