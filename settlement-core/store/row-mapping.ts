/**
 * Row → record mapping shared by every SQL store: the columns are the same;
 * only how a driver hands back integers, booleans and JSON differs, and each
 * store supplies those readers. Values read back are checked, not trusted
 * (assert on both sides of the disk).
 */
import { Ticket } from '../../protocol/index.ts';
import type { ReasonCode } from '../../protocol/index.ts';
import { invariant } from '../errors.ts';
import type { Account, CustomerAttributes, Device, IssuedTicket, JournalEntry, StatementLine, Transfer, Wallet } from '../model.ts';

export type Row = Record<string, unknown>;

/** How one driver's column values become numbers, booleans and attributes; each throws InvariantError on a bad value. */
export interface ColumnReaders {
  int: (v: unknown, what: string) => number;
  bool: (v: unknown, what: string) => boolean;
  attributes: (v: unknown, what: string) => CustomerAttributes;
}

const str = (v: unknown, what: string): string => {
  invariant(typeof v === 'string', () => `${what} read back as ${String(v)}`);
  return v;
};
const strOrNull = (v: unknown, what: string): string | null => (v === null ? null : str(v, what));

export interface RowMappers {
  accountFromRow: (r: Row) => Account;
  deviceFromRow: (r: Row) => Device;
  walletFromRow: (r: Row) => Wallet;
  transferFromRow: (r: Row) => Transfer;
  journalFromRow: (r: Row) => JournalEntry;
  statementLineFromRow: (r: Row, accountId: string) => StatementLine;
  issuedTicketFromRow: (r: Row) => IssuedTicket;
}

/** A stored ticket is checked against the protocol's schema and its own columns when read back. */
function issuedTicketFromRow(r: Row): IssuedTicket {
  const json = str(r.ticket_json, 'ticket.ticket_json');
  const parsed = Ticket.safeParse(JSON.parse(json));
  invariant(parsed.success, () => `ticket ${String(r.ticket_id)} read back is not a Ticket`);
  const ticket = parsed.data;
  invariant(ticket.ticketId === r.ticket_id && ticket.walletId === r.wallet_id, () => `ticket ${ticket.ticketId} does not match its row`);
  return { ticket, deviceId: str(r.device_id, 'ticket.device_id'), requestId: str(r.request_id, 'ticket.request_id') };
}

/** The values of one ticket row, in column order: ticket_id, wallet_id, device_id, request_id, issued_at, ticket_json. */
export const issuedTicketToValues = (t: IssuedTicket): [string, string, string, string, number, string] =>
  [t.ticket.ticketId, t.ticket.walletId, t.deviceId, t.requestId, t.ticket.validFrom, JSON.stringify(t.ticket)];

export function rowMappers(read: ColumnReaders): RowMappers {
  const int = read.int;
  const intOrNull = (v: unknown, what: string): number | null => (v === null ? null : int(v, what));

  function accountFromRow(r: Row): Account {
    const account: Account = {
      id: str(r.id, 'account.id'),
      kind: str(r.kind, 'account.kind') as Account['kind'],
      currency: str(r.currency, 'account.currency'),
      name: str(r.name, 'account.name'),
      balance: int(r.balance, 'account.balance'),
      floor: int(r.floor, 'account.floor'),
      status: str(r.status, 'account.status') as Account['status'],
      attributes: read.attributes(r.attributes, 'account.attributes'),
      createdAt: int(r.created_at, 'account.created_at'),
    };
    invariant(account.balance >= account.floor, () => `account ${account.id} balance ${account.balance} below floor ${account.floor}`);
    return account;
  }

  const deviceFromRow = (r: Row): Device => ({
    id: str(r.id, 'device.id'),
    kind: str(r.kind, 'device.kind') as Device['kind'],
    merchant: str(r.merchant, 'device.merchant'),
    status: str(r.status, 'device.status') as Device['status'],
    createdAt: int(r.created_at, 'device.created_at'),
  });

  function walletFromRow(r: Row): Wallet {
    const wallet: Wallet = {
      id: str(r.id, 'wallet.id'),
      account: str(r.account, 'wallet.account'),
      status: str(r.status, 'wallet.status') as Wallet['status'],
      requestCounter: int(r.request_counter, 'wallet.request_counter'),
      createdAt: int(r.created_at, 'wallet.created_at'),
    };
    if (r.blocked_reason === null || r.blocked_reason === undefined) return wallet;
    invariant(wallet.status === 'blocked', () => `wallet ${wallet.id} records a block but is ${wallet.status}`);
    return {
      ...wallet,
      blockedBy: {
        reason: str(r.blocked_reason, 'wallet.blocked_reason') as ReasonCode,
        deviceId: str(r.blocked_device, 'wallet.blocked_device'),
        requestId: str(r.blocked_request, 'wallet.blocked_request'),
        at: int(r.blocked_at, 'wallet.blocked_at'),
      },
    };
  }

  function transferFromRow(r: Row): Transfer {
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

  const journalFromRow = (r: Row): JournalEntry => ({
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
    awaitingOutcome: read.bool(r.awaiting_outcome, 'journal.awaiting_outcome'),
    dueAt: intOrNull(r.due_at, 'journal.due_at'),
    outcome: strOrNull(r.outcome, 'journal.outcome'),
    outcomeRequestId: strOrNull(r.outcome_request_id, 'journal.outcome_request_id'),
    requestJson: str(r.request_json, 'journal.request_json'),
    resultJson: str(r.result_json, 'journal.result_json'),
    receivedAt: int(r.received_at, 'journal.received_at'),
    updatedAt: int(r.updated_at, 'journal.updated_at'),
  });

  function statementLineFromRow(r: Row, accountId: string): StatementLine {
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

  return { accountFromRow, deviceFromRow, walletFromRow, transferFromRow, journalFromRow, statementLineFromRow, issuedTicketFromRow };
}
