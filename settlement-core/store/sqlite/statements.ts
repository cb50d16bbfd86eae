/** Every SQL statement of the SQLite store, prepared once per connection. */
import type { Database, Statement } from 'better-sqlite3';
import { emoneyRequestColumns, emoneyTokenColumns } from '../../emoney/rows.ts';

export function prepareStatements(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    bumpEpoch: p(`UPDATE meta SET value = value + 1 WHERE key = 'write_epoch' RETURNING value`),
    account: p('SELECT * FROM accounts WHERE id = ?'),
    listAccounts: p(`SELECT * FROM accounts WHERE (@kind IS NULL OR kind = @kind) AND id > @after ORDER BY id LIMIT @limit`),
    findAccounts: p('SELECT * FROM accounts WHERE kind = ? AND currency = ? ORDER BY id'),
    maxAccountNumber: p('SELECT max(number) AS n FROM accounts WHERE branch = ?'),
    insertAccount: p(`INSERT INTO accounts (id, branch, number, kind, currency, name, balance, floor, status, attributes, created_at)
      VALUES (@id, @branch, @number, @kind, @currency, @name, @balance, @floor, @status, @attributes, @created_at)`),
    setAttributes: p('UPDATE accounts SET attributes = ? WHERE id = ?'),
    setAccountStatus: p('UPDATE accounts SET status = ? WHERE id = ?'),
    updateBalance: p('UPDATE accounts SET balance = ? WHERE id = ? AND balance = ?'),
    device: p('SELECT * FROM devices WHERE id = ?'),
    listDevices: p('SELECT * FROM devices ORDER BY id'),
    upsertDevice: p(`INSERT INTO devices (id, kind, merchant, status, created_at) VALUES (@id, @kind, @merchant, @status, @created_at)
      ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, merchant = excluded.merchant, status = excluded.status`),
    wallet: p('SELECT * FROM wallets WHERE id = ?'),
    insertWallet: p('INSERT INTO wallets (id, account, status, request_counter, created_at) VALUES (@id, @account, @status, @request_counter, @created_at)'),
    setWalletStatus: p(`UPDATE wallets SET status = ?, blocked_reason = NULL, blocked_device = NULL, blocked_request = NULL, blocked_at = NULL
      WHERE id = ?`),
    blockWallet: p(`UPDATE wallets SET status = 'blocked', blocked_reason = @reason, blocked_device = @device, blocked_request = @request, blocked_at = @at
      WHERE id = @id AND status = 'active'`),
    advanceWalletRequestCounter: p('UPDATE wallets SET request_counter = ? WHERE id = ? AND request_counter < ?'),
    journal: p('SELECT * FROM journal WHERE device_id = ? AND request_id = ?'),
    insertJournal: p(`INSERT INTO journal (device_id, request_id, fingerprint, state, reason, wallet_id, counter, payer, merchant, article,
      amount, currency, deposit_not_before, awaiting_outcome, due_at, outcome, outcome_request_id, request_json, result_json, received_at, updated_at)
      VALUES (@device_id, @request_id, @fingerprint, @state, @reason, @wallet_id, @counter, @payer, @merchant, @article,
      @amount, @currency, @deposit_not_before, @awaiting_outcome, @due_at, @outcome, @outcome_request_id, @request_json, @result_json, @received_at, @updated_at)`),
    updateJournal: p(`UPDATE journal SET state = @to, due_at = @due_at, awaiting_outcome = @awaiting, outcome = @outcome,
      outcome_request_id = @outcome_request_id, deposit_not_before = @deposit_not_before, updated_at = @updated_at
      WHERE device_id = @device AND request_id = @request AND state = @from`),
    counterUsed: p('SELECT 1 FROM journal WHERE wallet_id = ? AND counter = ?'),
    // Journal order is arrival order: its rowid.
    listJournal: p('SELECT * FROM journal WHERE (@state IS NULL OR state = @state) AND seq > @after ORDER BY seq LIMIT @limit'),
    countByState: p('SELECT state, count(*) AS n FROM journal GROUP BY state ORDER BY state'),
    due: p('SELECT device_id, request_id FROM journal WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?'),
    nextDue: p('SELECT min(due_at) AS due_at FROM journal WHERE due_at IS NOT NULL'),
    insertTransfer: p(`INSERT INTO transfers (kind, from_account, to_account, amount, currency, from_balance_after, to_balance_after,
      journal_device, journal_request, reference, at)
      VALUES (@kind, @from_account, @to_account, @amount, @currency, @from_balance_after, @to_balance_after,
      @journal_device, @journal_request, @reference, @at)`),
    transferByReference: p('SELECT * FROM transfers WHERE reference = ?'),
    // Newest first; each side walks its (account, id) index backwards and stops at the page size.
    statement: p(`SELECT * FROM (
        SELECT * FROM (SELECT * FROM transfers WHERE from_account = @account AND id < @before AND at >= @from AND at < @to
          ORDER BY id DESC LIMIT @limit)
        UNION ALL
        SELECT * FROM (SELECT * FROM transfers WHERE to_account = @account AND id < @before AND at >= @from AND at < @to
          ORDER BY id DESC LIMIT @limit)
      ) ORDER BY id DESC LIMIT @limit`),
    scanTransfers: p('SELECT * FROM transfers WHERE id > ? ORDER BY id LIMIT ?'),
    insertTicket: p('INSERT INTO tickets (ticket_id, wallet_id, device_id, request_id, issued_at, ticket_json) VALUES (?, ?, ?, ?, ?, ?)'),
    walletTickets: p('SELECT * FROM tickets WHERE wallet_id = ? ORDER BY seq DESC LIMIT ?'),
    insertEmoneyToken: p(`INSERT INTO emoney_tokens (${emoneyTokenColumns.join(', ')}) VALUES (${emoneyTokenColumns.map(() => '?').join(', ')})`),
    spendEmoneyToken: p('UPDATE emoney_tokens SET spent_at = ?, deposit_request = ? WHERE serial = ? AND spent_at IS NULL'),
    emoneyToken: p('SELECT * FROM emoney_tokens WHERE serial = ?'),
    insertEmoneyRequest: p(`INSERT INTO emoney_requests (${emoneyRequestColumns.join(', ')}) VALUES (${emoneyRequestColumns.map(() => '?').join(', ')})`),
    emoneyRequest: p('SELECT * FROM emoney_requests WHERE request_id = ?'),
    emoneyInbox: p('SELECT * FROM emoney_tokens WHERE holder = ? AND spent_at IS NULL AND serial > ? ORDER BY serial LIMIT ?'),
    emoneyOutstanding: p('SELECT float_account, sum(amount) AS value, count(*) AS n FROM emoney_tokens WHERE spent_at IS NULL GROUP BY float_account'),
    scanJournal: p('SELECT * FROM journal WHERE (device_id, request_id) > (?, ?) ORDER BY device_id, request_id LIMIT ?'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
