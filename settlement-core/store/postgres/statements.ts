/**
 * Every SQL statement of the PostgreSQL store. Each has a fixed text and a
 * name, so pg prepares it once per connection and then only binds values.
 *
 * Group commit maps to multi-row statements whose text does not depend on
 * the row count: rows travel as one array per column and `unnest` turns them
 * back into rows. A statement therefore has one bind parameter per column
 * (≤ 21), never one per value, so PostgreSQL's limit of 65,535 bind
 * parameters cannot be reached; rowsPerStatementMax still bounds how many
 * rows one statement carries (and so the size of one protocol message).
 */
import { emoneyRequestColumns, emoneyTokenColumns } from '../../emoney/rows.ts';
import { accountColumns, deviceColumns, journalColumns, journalInsertColumns, ticketColumns, ticketInsertColumns, transferColumns, transferInsertColumns, walletColumns } from './rows.ts';

export interface Sql {
  name: string;
  text: string;
}

/**
 * Rows per multi-row statement. A journal row is ~1 KiB (request and result
 * JSON), so 2,000 rows is a ~2 MiB message; the core's default batch (1,000
 * settlements) fits in one statement per table.
 */
export const rowsPerStatementMax = 2_000;

const sql = (name: string, text: string): Sql => ({ name: `tapsettle_${name}`, text: text.replace(/\s+/g, ' ').trim() });

/** INSERT … SELECT FROM unnest(one array per column), in array order (ids and seqs follow it). */
function bulkInsert(table: string, columns: readonly (readonly [string, string])[]): string {
  const names = columns.map(([c]) => c).join(', ');
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  return `INSERT INTO ${table} (${names}) SELECT ${names} FROM unnest(${arrays}) WITH ORDINALITY AS v(${names}, ord) ORDER BY ord`;
}

export const statements = {
  // One row, updated by every writing transaction first. Its row lock is held
  // to COMMIT, so writers on every gateway node sharing this database queue
  // here one behind the other: the epoch is also the cross-node writer lock.
  bumpEpoch: sql('bump_epoch', `UPDATE meta SET value = value + 1 WHERE key = 'write_epoch' RETURNING value`),

  // Bulk reads inside a unit of work: one round trip each, however many keys.
  accounts: sql('accounts', `SELECT ${accountColumns} FROM accounts WHERE id = ANY($1::text[])`),
  devices: sql('devices', `SELECT ${deviceColumns} FROM devices WHERE id = ANY($1::text[])`),
  wallets: sql('wallets', `SELECT ${walletColumns} FROM wallets WHERE id = ANY($1::text[])`),
  journalByKeys: sql('journal_by_keys', `SELECT ${journalColumns} FROM journal
    WHERE (device_id, request_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`),
  countersUsed: sql('counters_used', `SELECT wallet_id, counter FROM journal
    WHERE counter IS NOT NULL AND (wallet_id, counter) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`),
  transferByReference: sql('transfer_by_reference', `SELECT ${transferColumns} FROM transfers WHERE reference = $1`),
  findAccounts: sql('find_accounts', `SELECT ${accountColumns} FROM accounts WHERE kind = $1 AND currency = $2 ORDER BY id`),
  maxAccountNumber: sql('max_account_number', 'SELECT max(number) AS n FROM accounts WHERE branch = $1'),

  // Group commit: one statement per table (per rowsPerStatementMax rows).
  insertJournal: sql('insert_journal', bulkInsert('journal', journalInsertColumns)),
  insertTransfers: sql('insert_transfers', bulkInsert('transfers', transferInsertColumns)),
  insertTickets: sql('insert_tickets', bulkInsert('tickets', ticketInsertColumns)),
  // Each row only where the disk holds the state / balance the engine saw; RETURNING tells which did.
  // `a.id = ANY($1)` lets the planner fetch just these accounts by primary key (without it, it may
  // merge-join the whole accounts index against the batch: measured 95 ms at 200,000 accounts).
  updateJournal: sql('update_journal', `UPDATE journal j SET state = v.to_state, due_at = v.due_at, awaiting_outcome = v.awaiting,
      outcome = v.outcome, outcome_request_id = v.outcome_request_id, deposit_not_before = v.deposit_not_before, updated_at = v.updated_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::text[], $8::text[], $9::bigint[], $10::bigint[])
      AS v(device_id, request_id, from_state, to_state, due_at, awaiting, outcome, outcome_request_id, deposit_not_before, updated_at)
    WHERE j.device_id = v.device_id AND j.request_id = v.request_id AND j.state = v.from_state
    RETURNING j.device_id, j.request_id`),
  updateBalances: sql('update_balances', `UPDATE accounts a SET balance = v.after
    FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, before, after)
    WHERE a.id = ANY($1::text[]) AND a.id = v.id AND a.balance = v.before
    RETURNING a.id`),

  insertAccount: sql('insert_account', `INSERT INTO accounts (id, branch, number, kind, currency, name, balance, floor, status, attributes, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)`),
  setAccountStatus: sql('set_account_status', 'UPDATE accounts SET status = $2 WHERE id = $1'),
  setAttributes: sql('set_attributes', 'UPDATE accounts SET attributes = $2::jsonb WHERE id = $1'),
  upsertDevice: sql('upsert_device', `INSERT INTO devices (id, kind, merchant, status, created_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, merchant = excluded.merchant, status = excluded.status`),
  insertWallet: sql('insert_wallet', 'INSERT INTO wallets (id, account, status, request_counter, created_at) VALUES ($1, $2, $3, $4, $5)'),
  setWalletStatus: sql('set_wallet_status', `UPDATE wallets SET status = $2, blocked_reason = NULL, blocked_device = NULL, blocked_request = NULL, blocked_at = NULL
    WHERE id = $1`),
  blockWallets: sql('block_wallets', `UPDATE wallets w SET status = 'blocked', blocked_reason = v.reason, blocked_device = v.device, blocked_request = v.request, blocked_at = v.at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS v(id, reason, device, request, at)
    WHERE w.id = ANY($1::text[]) AND w.id = v.id AND w.status = 'active'
    RETURNING w.id`),
  // E-money (claims 34–35): a few rows per request, one statement per row.
  insertEmoneyToken: sql('insert_emoney_token', `INSERT INTO emoney_tokens (${emoneyTokenColumns.join(', ')}) VALUES (${emoneyTokenColumns.map((_, i) => `$${i + 1}`).join(', ')})`),
  spendEmoneyToken: sql('spend_emoney_token', 'UPDATE emoney_tokens SET spent_at = $1, deposit_request = $2 WHERE serial = $3 AND spent_at IS NULL'),
  emoneyTokens: sql('emoney_tokens', 'SELECT * FROM emoney_tokens WHERE serial = ANY($1::text[])'),
  insertEmoneyRequest: sql('insert_emoney_request', `INSERT INTO emoney_requests (${emoneyRequestColumns.join(', ')}) VALUES (${emoneyRequestColumns.map((_, i) => `$${i + 1}`).join(', ')})`),
  emoneyRequest: sql('emoney_request', 'SELECT * FROM emoney_requests WHERE request_id = $1'),
  advanceWalletRequestCounter: sql('advance_wallet_request_counter', 'UPDATE wallets SET request_counter = $2 WHERE id = $1 AND request_counter < $2'),

  // Reads of committed data, on the pool.
  account: sql('account', `SELECT ${accountColumns} FROM accounts WHERE id = $1`),
  listAccounts: sql('list_accounts', `SELECT ${accountColumns} FROM accounts WHERE ($1::text IS NULL OR kind = $1) AND id > $2 ORDER BY id LIMIT $3`),
  device: sql('device', `SELECT ${deviceColumns} FROM devices WHERE id = $1`),
  listDevices: sql('list_devices', `SELECT ${deviceColumns} FROM devices ORDER BY id`),
  wallet: sql('wallet', `SELECT ${walletColumns} FROM wallets WHERE id = $1`),
  journal: sql('journal', `SELECT ${journalColumns} FROM journal WHERE device_id = $1 AND request_id = $2`),
  walletTickets: sql('wallet_tickets', `SELECT ${ticketColumns} FROM tickets WHERE wallet_id = $1 ORDER BY seq DESC LIMIT $2`),
  emoneyInbox: sql('emoney_inbox', 'SELECT * FROM emoney_tokens WHERE holder = $1 AND spent_at IS NULL AND serial > $2 ORDER BY serial LIMIT $3'),
  emoneyOutstanding: sql('emoney_outstanding', 'SELECT float_account, sum(amount) AS value, count(*) AS n FROM emoney_tokens WHERE spent_at IS NULL GROUP BY float_account'),
  // Journal order is arrival order: seq.
  listJournal: sql('list_journal', `SELECT ${journalColumns} FROM journal WHERE ($1::text IS NULL OR state = $1) AND seq > $2 ORDER BY seq LIMIT $3`),
  countByState: sql('count_by_state', 'SELECT state, count(*) AS n FROM journal GROUP BY state ORDER BY state'),
  due: sql('due', 'SELECT device_id, request_id FROM journal WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, seq LIMIT $2'),
  nextDue: sql('next_due', 'SELECT min(due_at) AS due_at FROM journal WHERE due_at IS NOT NULL'),
  // Newest first; each side walks its (account, id) index backwards and stops at the page size.
  statement: sql('statement', `SELECT * FROM (
      (SELECT ${transferColumns} FROM transfers WHERE from_account = $1 AND id < $2 AND at >= $3 AND at < $4 ORDER BY id DESC LIMIT $5)
      UNION ALL
      (SELECT ${transferColumns} FROM transfers WHERE to_account = $1 AND id < $2 AND at >= $3 AND at < $4 ORDER BY id DESC LIMIT $5)
    ) s ORDER BY id DESC LIMIT $5`),
  scanTransfers: sql('scan_transfers', `SELECT ${transferColumns} FROM transfers WHERE id > $1 ORDER BY id LIMIT $2`),
  scanJournal: sql('scan_journal', `SELECT ${journalColumns} FROM journal WHERE (device_id, request_id) > ($1, $2) ORDER BY device_id, request_id LIMIT $3`),
} as const;
