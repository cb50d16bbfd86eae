/**
 * SQLite schema, as numbered migrations. `PRAGMA user_version` holds the
 * number of the last one applied; each runs in its own transaction.
 *
 * The journal is a rowid table with a unique index on its key, not a
 * WITHOUT ROWID table: its rows carry the request and result (~1 KiB), and
 * SQLite's WITHOUT ROWID trees are meant for small rows.
 *
 * One transfer row is one double-entry movement: it debits `from_account`,
 * credits `to_account`, and records both balances after it — that row is the
 * history line of both accounts (claims 3, 38).
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('write_epoch', 0);

  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    branch INTEGER NOT NULL,
    number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    currency TEXT NOT NULL,
    name TEXT NOT NULL,
    balance INTEGER NOT NULL,
    floor INTEGER NOT NULL,
    status TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK (balance >= floor)
  ) WITHOUT ROWID;
  CREATE INDEX accounts_kind ON accounts(kind, currency);
  CREATE INDEX accounts_branch ON accounts(branch, number);

  CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    from_account TEXT NOT NULL,
    to_account TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    from_balance_after INTEGER NOT NULL,
    to_balance_after INTEGER NOT NULL,
    journal_device TEXT,
    journal_request TEXT,
    reference TEXT UNIQUE,
    at INTEGER NOT NULL,
    CHECK (from_account <> to_account)
  );
  CREATE INDEX transfers_from ON transfers(from_account, id);
  CREATE INDEX transfers_to ON transfers(to_account, id);

  CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    wallet_id TEXT,
    counter INTEGER,
    payer TEXT,
    merchant TEXT,
    article TEXT,
    amount INTEGER,
    currency TEXT,
    deposit_not_before INTEGER,
    awaiting_outcome INTEGER NOT NULL,
    due_at INTEGER,
    outcome TEXT,
    outcome_request_id TEXT,
    request_json TEXT NOT NULL,
    result_json TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX journal_key ON journal(device_id, request_id);
  CREATE INDEX journal_due ON journal(due_at) WHERE due_at IS NOT NULL;
  CREATE UNIQUE INDEX journal_wallet_counter ON journal(wallet_id, counter) WHERE counter IS NOT NULL;

  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    merchant TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE wallets (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    status TEXT NOT NULL,
    request_counter INTEGER NOT NULL DEFAULT -1,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: tickets minted by the core (claims 15–16), read by wallet newest first.
  // `seq` is arrival order; the (wallet_id, seq) index makes a wallet's page one range scan.
  `
  CREATE TABLE tickets (
    seq INTEGER PRIMARY KEY,
    ticket_id TEXT NOT NULL UNIQUE,
    wallet_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    ticket_json TEXT NOT NULL
  );
  CREATE INDEX tickets_wallet ON tickets(wallet_id, seq);
  `,
  // 3: why the core blocked a wallet (issue 5: an offline debt it declined); NULL when active or blocked by an operator.
  `
  ALTER TABLE wallets ADD COLUMN blocked_reason TEXT;
  ALTER TABLE wallets ADD COLUMN blocked_device TEXT;
  ALTER TABLE wallets ADD COLUMN blocked_request TEXT;
  ALTER TABLE wallets ADD COLUMN blocked_at INTEGER;
  `,
  // 4: e-money (claims 34–35). A token row is minted once (serial) and spent at most once (spent_at and
  // deposit_request set together, only from NULL). The partial indexes serve the wallet's inbox and the audit's
  // sum of unspent tokens per float. A decided request is kept whole, so a resend gets the same answer.
  `
  CREATE TABLE emoney_tokens (
    serial TEXT PRIMARY KEY,
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    holder TEXT NOT NULL,
    float_account TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    issue_request TEXT NOT NULL,
    token_json TEXT NOT NULL,
    spent_at INTEGER,
    deposit_request TEXT,
    CHECK ((spent_at IS NULL) = (deposit_request IS NULL))
  );
  CREATE INDEX emoney_tokens_inbox ON emoney_tokens(holder, serial) WHERE spent_at IS NULL;
  CREATE INDEX emoney_tokens_unspent ON emoney_tokens(float_account) WHERE spent_at IS NULL;

  CREATE TABLE emoney_requests (
    request_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('issue', 'deposit')),
    wallet_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  `,
];
