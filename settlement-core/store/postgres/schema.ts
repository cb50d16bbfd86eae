/**
 * PostgreSQL schema, as numbered migrations recorded in `schema_migrations`.
 * Each migration runs in its own transaction under a transaction-scoped
 * advisory lock keyed on the schema, so two processes starting at once (two
 * gateway nodes, a node and the CLI) apply each migration exactly once: the
 * second waits, then finds it recorded. Re-running is a no-op.
 *
 * Same tables as the SQLite store (settlement-core/store/sqlite/schema.ts):
 * one transfer row is one double-entry movement with both balances after it.
 * Differences: money, times and ids are BIGINT (pg returns them as strings;
 * rows.ts parses and checks them); ids are identity columns, so arrival order
 * is `seq` and history order is `id`; key columns use the "C" collation so
 * ordering and paging are byte order, as in SQLite, whatever the database's
 * locale. Balances change on every settlement and are not indexed: accounts
 * pages keep 30 % free (fillfactor 70) so those updates stay HOT (no index
 * writes, no page splits).
 */
import type { PoolClient } from 'pg';
import { invariant } from '../../errors.ts';

export const migrations: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
  );
  INSERT INTO meta (key, value) VALUES ('write_epoch', 0);

  CREATE TABLE accounts (
    id TEXT COLLATE "C" PRIMARY KEY,
    branch INTEGER NOT NULL,
    number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    currency TEXT NOT NULL,
    name TEXT NOT NULL,
    balance BIGINT NOT NULL,
    floor BIGINT NOT NULL,
    status TEXT NOT NULL,
    attributes JSONB NOT NULL CHECK (jsonb_typeof(attributes) = 'object'),
    created_at BIGINT NOT NULL,
    CONSTRAINT accounts_balance_floor CHECK (balance >= floor)
  ) WITH (fillfactor = 70);
  CREATE INDEX accounts_kind ON accounts (kind, currency);
  CREATE INDEX accounts_branch ON accounts (branch, number);

  CREATE TABLE transfers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    from_account TEXT COLLATE "C" NOT NULL,
    to_account TEXT COLLATE "C" NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    from_balance_after BIGINT NOT NULL,
    to_balance_after BIGINT NOT NULL,
    journal_device TEXT COLLATE "C",
    journal_request TEXT COLLATE "C",
    reference TEXT COLLATE "C" UNIQUE,
    at BIGINT NOT NULL,
    CHECK (from_account <> to_account)
  );
  CREATE INDEX transfers_from ON transfers (from_account, id);
  CREATE INDEX transfers_to ON transfers (to_account, id);

  CREATE TABLE journal (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    wallet_id TEXT COLLATE "C",
    counter BIGINT,
    payer TEXT,
    merchant TEXT,
    article TEXT,
    amount BIGINT,
    currency TEXT,
    deposit_not_before BIGINT,
    awaiting_outcome BOOLEAN NOT NULL,
    due_at BIGINT,
    outcome TEXT,
    outcome_request_id TEXT,
    request_json TEXT NOT NULL,
    result_json TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE UNIQUE INDEX journal_key ON journal (device_id, request_id);
  CREATE INDEX journal_due ON journal (due_at, seq) WHERE due_at IS NOT NULL;
  CREATE UNIQUE INDEX journal_wallet_counter ON journal (wallet_id, counter) WHERE counter IS NOT NULL;

  CREATE TABLE devices (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    merchant TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );

  CREATE TABLE wallets (
    id TEXT COLLATE "C" PRIMARY KEY,
    account TEXT NOT NULL,
    status TEXT NOT NULL,
    request_counter BIGINT NOT NULL DEFAULT -1,
    created_at BIGINT NOT NULL
  );
  `,
  // 2: tickets minted by the core (claims 15–16), read by wallet newest first:
  // one range scan of (wallet_id, seq) backwards.
  `
  CREATE TABLE tickets (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id TEXT COLLATE "C" NOT NULL UNIQUE,
    wallet_id TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    issued_at BIGINT NOT NULL,
    ticket_json TEXT NOT NULL
  );
  CREATE INDEX tickets_wallet ON tickets (wallet_id, seq);
  `,
  // 3: why the core blocked a wallet (issue 5: an offline debt it declined); NULL when active or blocked by an operator.
  `
  ALTER TABLE wallets
    ADD COLUMN blocked_reason TEXT,
    ADD COLUMN blocked_device TEXT,
    ADD COLUMN blocked_request TEXT,
    ADD COLUMN blocked_at BIGINT;
  `,
  // 4: e-money (claims 34–35), as in the SQLite store: a token minted once, spent at most once;
  // partial indexes for the wallet's inbox and the audit's unspent sum per float; decided requests kept whole.
  `
  CREATE TABLE emoney_tokens (
    serial TEXT COLLATE "C" PRIMARY KEY,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    holder TEXT COLLATE "C" NOT NULL,
    float_account TEXT COLLATE "C" NOT NULL,
    issued_at BIGINT NOT NULL,
    issue_request TEXT NOT NULL,
    token_json TEXT NOT NULL,
    spent_at BIGINT,
    deposit_request TEXT,
    CHECK ((spent_at IS NULL) = (deposit_request IS NULL))
  );
  CREATE INDEX emoney_tokens_inbox ON emoney_tokens (holder, serial) WHERE spent_at IS NULL;
  CREATE INDEX emoney_tokens_unspent ON emoney_tokens (float_account) WHERE spent_at IS NULL;

  CREATE TABLE emoney_requests (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('issue', 'deposit')),
    wallet_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    at BIGINT NOT NULL
  );
  `,
];

/** pg_advisory_xact_lock(int4, int4): this constant ('tS') and the hash of the schema name. */
const migrationLockClass = 0x7453;

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

async function inTransaction(client: PoolClient, schema: string, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [migrationLockClass, schema]);
    await fn();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Creates the schema if missing, then applies every migration not yet
 * recorded, each in its own transaction. Refuses a database migrated by newer
 * code. The client's search_path is already the schema.
 */
export async function migrate(client: PoolClient, schema: string): Promise<void> {
  const table = `${quoteIdent(schema)}.schema_migrations`;
  let applied = new Set<number>();
  await inTransaction(client, schema, async () => {
    // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the database
    // even when the schema exists, so look first: an existing schema needs none.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
      version INTEGER PRIMARY KEY,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const rows = await client.query<{ version: number }>(`SELECT version FROM ${table} ORDER BY version`);
    applied = new Set(rows.rows.map((r) => r.version));
  });
  const newest = Math.max(0, ...applied);
  invariant(newest <= migrations.length, () => `database schema version ${newest} is newer than this code (${migrations.length})`);
  for (const [i, sql] of migrations.entries()) {
    const version = i + 1;
    if (applied.has(version)) continue;
    await inTransaction(client, schema, async () => {
      // Another migrator may have applied it while we waited for the lock.
      const done = await client.query(`SELECT 1 FROM ${table} WHERE version = $1`, [version]);
      if (done.rowCount !== 0) return;
      await client.query(sql);
      await client.query(`INSERT INTO ${table} (version) VALUES ($1)`, [version]);
    });
  }
}
