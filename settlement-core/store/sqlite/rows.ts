/** Row ↔ record mapping for the SQLite store: its column readers, and the parameters of its writes. */
import { invariant } from '../../errors.ts';
import { CustomerAttributes } from '../../model.ts';
import type { Account, JournalEntry, Transfer } from '../../model.ts';
import { rowMappers } from '../row-mapping.ts';

export type { Row } from '../row-mapping.ts';

const int = (v: unknown, what: string): number => {
  invariant(typeof v === 'number' && Number.isSafeInteger(v), () => `${what} read back as ${String(v)}`);
  return v;
};

const noAttributes: CustomerAttributes = Object.freeze({});

export const { accountFromRow, deviceFromRow, walletFromRow, transferFromRow, journalFromRow, statementLineFromRow, issuedTicketFromRow } = rowMappers({
  int,
  /** SQLite has no boolean: 0 or 1. */
  bool: (v, what) => {
    const n = int(v, what);
    invariant(n === 0 || n === 1, () => `${what} read back as ${n}`);
    return n === 1;
  },
  /** Attributes are a JSON string; most accounts have none, the rest are checked against the schema they were written with. */
  attributes: (v, what) => {
    invariant(typeof v === 'string', () => `${what} read back as ${String(v)}`);
    return v === '{}' ? noAttributes : CustomerAttributes.parse(JSON.parse(v));
  },
});

export const accountToParams = (a: Account) => ({
  id: a.id,
  branch: Number(a.id.slice(0, 3)),
  number: Number(a.id.slice(4)),
  kind: a.kind,
  currency: a.currency,
  name: a.name,
  balance: a.balance,
  floor: a.floor,
  status: a.status,
  attributes: JSON.stringify(a.attributes),
  created_at: a.createdAt,
});

export const transferToParams = (t: Omit<Transfer, 'id'>) => ({
  kind: t.kind,
  from_account: t.from,
  to_account: t.to,
  amount: t.amount,
  currency: t.currency,
  from_balance_after: t.fromBalanceAfter,
  to_balance_after: t.toBalanceAfter,
  journal_device: t.journalDeviceId,
  journal_request: t.journalRequestId,
  reference: t.reference,
  at: t.at,
});

export const journalToParams = (e: JournalEntry) => ({
  device_id: e.deviceId,
  request_id: e.requestId,
  fingerprint: e.fingerprint,
  state: e.state,
  reason: e.reason,
  wallet_id: e.walletId,
  counter: e.counter,
  payer: e.payer,
  merchant: e.merchant,
  article: e.article,
  amount: e.amount,
  currency: e.currency,
  deposit_not_before: e.depositNotBefore,
  awaiting_outcome: e.awaitingOutcome ? 1 : 0,
  due_at: e.dueAt,
  outcome: e.outcome,
  outcome_request_id: e.outcomeRequestId,
  request_json: e.requestJson,
  result_json: e.resultJson,
  received_at: e.receivedAt,
  updated_at: e.updatedAt,
});
