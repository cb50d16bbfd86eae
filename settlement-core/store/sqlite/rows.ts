/** Row ↔ record mapping for the SQLite store. Values read back are checked, not trusted. */
import { invariant } from '../../errors.ts';
import { CustomerAttributes } from '../../model.ts';
import type { Account, Device, JournalEntry, StatementLine, Transfer, Wallet } from '../../model.ts';

export type Row = Record<string, unknown>;

const int = (v: unknown, what: string): number => {
  invariant(typeof v === 'number' && Number.isSafeInteger(v), () => `${what} read back as ${String(v)}`);
  return v;
};
const intOrNull = (v: unknown, what: string): number | null => (v === null ? null : int(v, what));
const str = (v: unknown, what: string): string => {
  invariant(typeof v === 'string', () => `${what} read back as ${String(v)}`);
  return v;
};
const strOrNull = (v: unknown, what: string): string | null => (v === null ? null : str(v, what));

const noAttributes: CustomerAttributes = Object.freeze({});

/** Most accounts have none; the rest are checked against the schema they were written with. */
function parseAttributes(json: string): CustomerAttributes {
  return json === '{}' ? noAttributes : CustomerAttributes.parse(JSON.parse(json));
}

export function accountFromRow(r: Row): Account {
  const account: Account = {
    id: str(r.id, 'account.id'),
    kind: str(r.kind, 'account.kind') as Account['kind'],
    currency: str(r.currency, 'account.currency'),
    name: str(r.name, 'account.name'),
    balance: int(r.balance, 'account.balance'),
    floor: int(r.floor, 'account.floor'),
    status: str(r.status, 'account.status') as Account['status'],
    attributes: parseAttributes(str(r.attributes, 'account.attributes')),
    createdAt: int(r.created_at, 'account.created_at'),
  };
  invariant(account.balance >= account.floor, () => `account ${account.id} balance ${account.balance} below floor ${account.floor}`);
  return account;
}

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

export const deviceFromRow = (r: Row): Device => ({
  id: str(r.id, 'device.id'),
  kind: str(r.kind, 'device.kind') as Device['kind'],
  merchant: str(r.merchant, 'device.merchant'),
  status: str(r.status, 'device.status') as Device['status'],
  createdAt: int(r.created_at, 'device.created_at'),
});

export const walletFromRow = (r: Row): Wallet => ({
  id: str(r.id, 'wallet.id'),
  account: str(r.account, 'wallet.account'),
  status: str(r.status, 'wallet.status') as Wallet['status'],
  requestCounter: int(r.request_counter, 'wallet.request_counter'),
  createdAt: int(r.created_at, 'wallet.created_at'),
});

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
  awaitingOutcome: int(r.awaiting_outcome, 'journal.awaiting_outcome') === 1,
  dueAt: intOrNull(r.due_at, 'journal.due_at'),
  outcome: strOrNull(r.outcome, 'journal.outcome'),
  outcomeRequestId: strOrNull(r.outcome_request_id, 'journal.outcome_request_id'),
  requestJson: str(r.request_json, 'journal.request_json'),
  resultJson: str(r.result_json, 'journal.result_json'),
  receivedAt: int(r.received_at, 'journal.received_at'),
  updatedAt: int(r.updated_at, 'journal.updated_at'),
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
