/**
 * The PostgreSQL store (`pg`): the same contract and semantics as the SQLite
 * store, for a ledger shared by several gateway nodes.
 *
 * - A unit of work runs on one pooled connection in one READ COMMITTED
 *   transaction; units of work of one store instance run one at a time.
 * - COMMIT returns after the WAL is flushed: every connection starts with
 *   synchronous_commit=on (checked by migrate()), since a device is told
 *   "approved" right after it.
 * - Every writing transaction starts with bumpEpoch, an UPDATE of one meta
 *   row: its row lock is held to COMMIT, so writers on all nodes queue there
 *   one behind the other. Under READ COMMITTED each later statement sees what
 *   the previous writer committed, and the epoch tells each node's read
 *   cache whether anybody else wrote (REPEATABLE READ would instead fail the
 *   waiting writer with a serialization error).
 * - Reads of committed data (statements, journal pages, due entries, the
 *   audit's scans) run on the pool, beside the writer, never inside its
 *   transaction: they never see a batch half done.
 */
import { Pool } from 'pg';
import type { QueryResultRow } from 'pg';
import { CoreError, invariant } from '../../errors.ts';
import type { EmoneyToken } from '../../../protocol/index.ts';
import { emoneyTokenFromRow, outstandingFromRows } from '../../emoney/rows.ts';
import type { Account, Device, IssuedTicket, JournalEntry, JournalKey, StatementLine, Transfer, Wallet } from '../../model.ts';
import type { EmoneyInboxQuery, JournalQuery, LedgerStore, LedgerTx, StatementQuery } from '../ledger-store.ts';
import { poolConfig, resolvePgStoreOptions } from './options.ts';
import type { PgStoreOptions, ResolvedPgStoreOptions } from './options.ts';
import { PgTx } from './pg-tx.ts';
import { accountFromRow, deviceFromRow, int, issuedTicketFromRow, journalFromRow, statementLineFromRow, transferFromRow, walletFromRow } from './rows.ts';
import { migrate } from './schema.ts';
import { statements as s } from './statements.ts';
import type { Sql } from './statements.ts';

export { defaultPgStoreLimits } from './options.ts';
export type { PgStoreLimits, PgStoreOptions } from './options.ts';

export class PgLedgerStore implements LedgerStore {
  readonly kind = 'postgres';
  readonly options: Readonly<Omit<ResolvedPgStoreOptions, 'connectionString'>>;
  private readonly pool: Pool;
  /** Units of work run one at a time: this is the tail of the chain. */
  private tail: Promise<unknown> = Promise.resolve();
  private migrated = false;
  private closed = false;
  /** The last error of an idle pooled connection (the server restarted, the network dropped); the pool replaces it. */
  lastIdleError: Error | null = null;
  /** host:port/database of the connection string, for messages (never the password). */
  private readonly target: string;

  constructor(options: PgStoreOptions) {
    const resolved = resolvePgStoreOptions(options);
    const { connectionString: _secret, ...shown } = resolved;
    this.options = Object.freeze(shown);
    this.target = describeTarget(resolved.connectionString);
    this.pool = new Pool(poolConfig(resolved));
    // Without a listener an idle connection's error would crash the process.
    this.pool.on('error', (err) => {
      this.lastIdleError = err;
    });
  }

  async migrate(): Promise<void> {
    this.assertOpen();
    const client = await this.pool.connect().catch((err: unknown) => {
      throw unreachable(this.target, err);
    });
    try {
      await migrate(client, this.options.schema);
      // Every connection starts with the same settings: check them on this one.
      const { rows } = await client.query<{ sync: string; path: string }>(`SELECT current_setting('synchronous_commit') AS sync, current_setting('search_path') AS path`);
      invariant(rows[0]?.sync === 'on', () => `PostgreSQL synchronous_commit is ${rows[0]?.sync}, not on`);
      invariant(rows[0].path === this.options.schema, () => `search_path is ${rows[0]?.path}, not ${this.options.schema}`);
    } finally {
      client.release();
    }
    this.migrated = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new CoreError('TS_ERR_CLOSED', 'the store is closed');
  }

  private assertReady(): void {
    this.assertOpen();
    if (!this.migrated) throw new CoreError('TS_ERR_NOT_INITIALISED', 'call migrate() before using the store');
  }

  transaction<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CoreError('TS_ERR_CLOSED', 'the store is closed'));
    if (!this.migrated) return Promise.reject(new CoreError('TS_ERR_NOT_INITIALISED', 'call migrate() before using the store'));
    const run = async (): Promise<T> => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      const tx = new PgTx(client);
      try {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const value = await fn(tx);
        tx.end();
        if (tx.failure !== null) throw tx.failure;
        const commit = await client.query('COMMIT');
        // COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK.
        if (commit.command !== 'COMMIT') throw new CoreError('TS_ERR_STORE', `COMMIT answered ${commit.command}: nothing was written`);
        return value;
      } catch (err) {
        tx.end();
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e as Error; // the connection is unusable: the pool drops it
        });
        throw err;
      } finally {
        client.release(broken);
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** A read of committed data on any pooled connection. */
  private async read(stmt: Sql, values: unknown[]): Promise<QueryResultRow[]> {
    this.assertReady();
    return (await this.pool.query<QueryResultRow>({ name: stmt.name, text: stmt.text, values })).rows;
  }

  async getAccount(id: string): Promise<Account | null> {
    const [row] = await this.read(s.account, [id]);
    return row ? accountFromRow(row) : null;
  }

  async listAccounts(query: { kind?: Account['kind']; limit: number; afterId?: string }): Promise<Account[]> {
    return (await this.read(s.listAccounts, [query.kind ?? null, query.afterId ?? '', query.limit])).map((r) => accountFromRow(r));
  }

  async getDevice(id: string): Promise<Device | null> {
    const [row] = await this.read(s.device, [id]);
    return row ? deviceFromRow(row) : null;
  }

  async listDevices(): Promise<Device[]> {
    return (await this.read(s.listDevices, [])).map((r) => deviceFromRow(r));
  }

  async getWallet(id: string): Promise<Wallet | null> {
    const [row] = await this.read(s.wallet, [id]);
    return row ? walletFromRow(row) : null;
  }

  async statement(accountId: string, q: StatementQuery): Promise<StatementLine[]> {
    const rows = await this.read(s.statement, [
      accountId, q.beforeTransferId ?? Number.MAX_SAFE_INTEGER, q.fromMs ?? 0, q.toMs ?? Number.MAX_SAFE_INTEGER, q.limit,
    ]);
    return rows.map((r) => statementLineFromRow(r, accountId));
  }

  async getJournalEntry(key: JournalKey): Promise<JournalEntry | null> {
    const [row] = await this.read(s.journal, [key.deviceId, key.requestId]);
    return row ? journalFromRow(row) : null;
  }

  async walletTickets(walletId: string, limit: number): Promise<IssuedTicket[]> {
    return (await this.read(s.walletTickets, [walletId, limit])).map((r) => issuedTicketFromRow(r));
  }

  async emoneyInbox(walletId: string, q: EmoneyInboxQuery): Promise<EmoneyToken[]> {
    return (await this.read(s.emoneyInbox, [walletId, q.afterSerial ?? '', q.limit])).map((r) => emoneyTokenFromRow(r).token);
  }

  async emoneyOutstanding(): Promise<Map<string, { value: number; count: number }>> {
    return outstandingFromRows(await this.read(s.emoneyOutstanding, []));
  }

  async listJournal(q: JournalQuery): Promise<JournalEntry[]> {
    return (await this.read(s.listJournal, [q.state ?? null, q.afterSeq ?? 0, q.limit])).map((r) => journalFromRow(r));
  }

  async countJournalByState(): Promise<Record<string, number>> {
    const rows = await this.read(s.countByState, []);
    return Object.fromEntries(rows.map((r) => [String(r.state), int(r.n, 'count(journal)')]));
  }

  async dueEntries(nowMs: number, limit: number): Promise<JournalKey[]> {
    const rows = await this.read(s.due, [nowMs, limit]);
    return rows.map((r) => ({ deviceId: String(r.device_id), requestId: String(r.request_id) }));
  }

  async nextDueAt(): Promise<number | null> {
    const [row] = await this.read(s.nextDue, []);
    return row?.due_at === null || row === undefined ? null : int(row.due_at, 'journal.due_at');
  }

  async scanTransfers(afterId: number, limit: number): Promise<Transfer[]> {
    return (await this.read(s.scanTransfers, [afterId, limit])).map((r) => transferFromRow(r));
  }

  async scanJournal(after: JournalKey | null, limit: number): Promise<JournalEntry[]> {
    return (await this.read(s.scanJournal, [after?.deviceId ?? '', after?.requestId ?? '', limit])).map((r) => journalFromRow(r));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.pool.end();
  }
}

/** host:port/database of a connection string; the user and password are left out. */
function describeTarget(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured server';
  }
}

/**
 * A failed first connection as an operating error naming where it tried
 * (never the password) and why, instead of the pg driver's bare message.
 */
function unreachable(target: string, err: unknown): CoreError {
  const why = err instanceof Error ? (err as Error & { code?: string }).code ?? err.message : String(err);
  return new CoreError('TS_ERR_STORE_UNREACHABLE', `cannot reach PostgreSQL at ${target} (${why}); check that the server runs and the store's url`);
}
