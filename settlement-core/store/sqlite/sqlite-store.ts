/**
 * The embedded default store: better-sqlite3 in WAL mode with
 * synchronous=FULL (NORMAL may lose committed transactions on power loss —
 * and we answer devices after COMMIT, so a commit must survive). One writer
 * connection runs units of work one at a time; a second, read-only connection
 * serves reads of committed data, so a statement never sees a batch half done.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { CoreError, invariant } from '../../errors.ts';
import { journalKeyString } from '../../model.ts';
import type { EmoneyToken } from '../../../protocol/index.ts';
import { emoneyRequestFromRow, emoneyRequestToValues, emoneyTokenFromRow, emoneyTokenToValues, outstandingFromRows } from '../../emoney/rows.ts';
import type { Account, AccountStatus, CustomerAttributes, Device, EmoneyRequestRecord, EmoneyTokenRecord, IssuedTicket, JournalEntry, JournalKey, StatementLine, Transfer, Wallet } from '../../model.ts';
import type { CounterKey, EmoneyInboxQuery, JournalQuery, LedgerStore, LedgerTx, StatementQuery, WriteSet } from '../ledger-store.ts';
import { issuedTicketToValues } from '../row-mapping.ts';
import { accountFromRow, accountToParams, deviceFromRow, issuedTicketFromRow, journalFromRow, journalToParams, statementLineFromRow, transferFromRow, transferToParams, walletFromRow } from './rows.ts';
import type { Row } from './rows.ts';
import { migrations } from './schema.ts';
import { prepareStatements } from './statements.ts';
import type { Statements } from './statements.ts';

export interface SqliteStoreOptions {
  /** Path of the database file. The directory must exist. */
  path: string;
  /** SQLite page cache per connection, KiB. 64 MiB keeps 100k accounts and their indexes in memory. */
  cacheKiB?: number;
  /** How long a connection waits for another process's lock before failing, ms. */
  busyTimeoutMs?: number;
}

export class SqliteLedgerStore implements LedgerStore {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly writer: Db;
  private readonly reader: Db;
  private statements: Statements | null = null;
  private readerStatements: Statements | null = null;
  /** Units of work run one at a time: this is the tail of the chain. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    if (typeof options.path !== 'string' || options.path.length === 0 || options.path === ':memory:') {
      throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'SqliteLedgerStore needs a file path (WAL and a separate reader need a file, not :memory:)');
    }
    this.path = options.path;
    const cacheKiB = options.cacheKiB ?? 64 * 1024;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.writer = new Database(options.path, { timeout: busyTimeoutMs });
    this.writer.pragma('journal_mode = WAL');
    this.writer.pragma('synchronous = FULL');
    this.writer.pragma(`cache_size = -${cacheKiB}`);
    invariant(this.writer.pragma('synchronous', { simple: true }) === 2, 'SQLite synchronous is not FULL');
    this.reader = new Database(options.path, { timeout: busyTimeoutMs });
    this.reader.pragma(`cache_size = -${cacheKiB}`);
    this.reader.pragma('query_only = ON');
  }

  migrate(): Promise<void> {
    const version = this.writer.pragma('user_version', { simple: true }) as number;
    invariant(version <= migrations.length, () => `database schema version ${version} is newer than this code (${migrations.length})`);
    for (let v = version; v < migrations.length; v += 1) {
      this.writer.transaction(() => {
        this.writer.exec(migrations[v]!);
        this.writer.pragma(`user_version = ${v + 1}`);
      })();
    }
    this.statements = prepareStatements(this.writer);
    this.readerStatements = prepareStatements(this.reader);
    return Promise.resolve();
  }

  private get w(): Statements {
    if (!this.statements) throw new CoreError('TS_ERR_NOT_INITIALISED', 'call migrate() before using the store');
    return this.statements;
  }

  private get r(): Statements {
    if (!this.readerStatements) throw new CoreError('TS_ERR_NOT_INITIALISED', 'call migrate() before using the store');
    return this.readerStatements;
  }

  transaction<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CoreError('TS_ERR_CLOSED', 'the store is closed'));
    const run = async (): Promise<T> => {
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn(new SqliteTx(this.w));
        this.writer.exec('COMMIT');
        return value;
      } catch (err) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw err;
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  getAccount(id: string): Promise<Account | null> {
    const row = this.r.account.get(id) as Row | undefined;
    return Promise.resolve(row ? accountFromRow(row) : null);
  }

  listAccounts(query: { kind?: Account['kind']; limit: number; afterId?: string }): Promise<Account[]> {
    const rows = this.r.listAccounts.all({ kind: query.kind ?? null, after: query.afterId ?? '', limit: query.limit }) as Row[];
    return Promise.resolve(rows.map(accountFromRow));
  }

  getDevice(id: string): Promise<Device | null> {
    const row = this.r.device.get(id) as Row | undefined;
    return Promise.resolve(row ? deviceFromRow(row) : null);
  }

  listDevices(): Promise<Device[]> {
    return Promise.resolve((this.r.listDevices.all() as Row[]).map(deviceFromRow));
  }

  getWallet(id: string): Promise<Wallet | null> {
    const row = this.r.wallet.get(id) as Row | undefined;
    return Promise.resolve(row ? walletFromRow(row) : null);
  }

  statement(accountId: string, q: StatementQuery): Promise<StatementLine[]> {
    const rows = this.r.statement.all({
      account: accountId,
      before: q.beforeTransferId ?? Number.MAX_SAFE_INTEGER,
      from: q.fromMs ?? 0,
      to: q.toMs ?? Number.MAX_SAFE_INTEGER,
      limit: q.limit,
    }) as Row[];
    return Promise.resolve(rows.map((r) => statementLineFromRow(r, accountId)));
  }

  getJournalEntry(key: JournalKey): Promise<JournalEntry | null> {
    const row = this.r.journal.get(key.deviceId, key.requestId) as Row | undefined;
    return Promise.resolve(row ? journalFromRow(row) : null);
  }

  walletTickets(walletId: string, limit: number): Promise<IssuedTicket[]> {
    return Promise.resolve((this.r.walletTickets.all(walletId, limit) as Row[]).map(issuedTicketFromRow));
  }

  emoneyInbox(walletId: string, q: EmoneyInboxQuery): Promise<EmoneyToken[]> {
    return Promise.resolve((this.r.emoneyInbox.all(walletId, q.afterSerial ?? '', q.limit) as Row[]).map((r) => emoneyTokenFromRow(r).token));
  }

  emoneyOutstanding(): Promise<Map<string, { value: number; count: number }>> {
    return Promise.resolve(outstandingFromRows(this.r.emoneyOutstanding.all() as Row[]));
  }

  listJournal(q: JournalQuery): Promise<JournalEntry[]> {
    const rows = this.r.listJournal.all({ state: q.state ?? null, after: q.afterSeq ?? 0, limit: q.limit }) as Row[];
    return Promise.resolve(rows.map(journalFromRow));
  }

  countJournalByState(): Promise<Record<string, number>> {
    const rows = this.r.countByState.all() as { state: string; n: number }[];
    return Promise.resolve(Object.fromEntries(rows.map((r) => [r.state, r.n])));
  }

  dueEntries(nowMs: number, limit: number): Promise<JournalKey[]> {
    const rows = this.r.due.all(nowMs, limit) as { device_id: string; request_id: string }[];
    return Promise.resolve(rows.map((r) => ({ deviceId: r.device_id, requestId: r.request_id })));
  }

  nextDueAt(): Promise<number | null> {
    const row = this.r.nextDue.get() as { due_at: number | null } | undefined;
    return Promise.resolve(row?.due_at ?? null);
  }

  scanTransfers(afterId: number, limit: number): Promise<Transfer[]> {
    return Promise.resolve((this.r.scanTransfers.all(afterId, limit) as Row[]).map(transferFromRow));
  }

  scanJournal(after: JournalKey | null, limit: number): Promise<JournalEntry[]> {
    const rows = this.r.scanJournal.all(after?.deviceId ?? '', after?.requestId ?? '', limit) as Row[];
    return Promise.resolve(rows.map(journalFromRow));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    this.reader.close();
    this.writer.close();
  }
}

class SqliteTx implements LedgerTx {
  constructor(private readonly s: Statements) {}

  private many<T>(stmt: Statement, ids: readonly string[], map: (r: Row) => T, keyOf: (v: T) => string): Map<string, T> {
    const out = new Map<string, T>();
    for (const id of ids) {
      const row = stmt.get(id) as Row | undefined;
      if (row) {
        const v = map(row);
        out.set(keyOf(v), v);
      }
    }
    return out;
  }

  getAccounts(ids: readonly string[]): Promise<Map<string, Account>> {
    return Promise.resolve(this.many(this.s.account, ids, accountFromRow, (a) => a.id));
  }

  getDevices(ids: readonly string[]): Promise<Map<string, Device>> {
    return Promise.resolve(this.many(this.s.device, ids, deviceFromRow, (d) => d.id));
  }

  getWallets(ids: readonly string[]): Promise<Map<string, Wallet>> {
    return Promise.resolve(this.many(this.s.wallet, ids, walletFromRow, (w) => w.id));
  }

  getJournalEntries(keys: readonly JournalKey[]): Promise<Map<string, JournalEntry>> {
    const out = new Map<string, JournalEntry>();
    for (const k of keys) {
      const row = this.s.journal.get(k.deviceId, k.requestId) as Row | undefined;
      if (row) out.set(journalKeyString(k), journalFromRow(row));
    }
    return Promise.resolve(out);
  }

  countersUsed(keys: readonly CounterKey[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const k of keys) if (this.s.counterUsed.get(k.walletId, k.counter)) out.add(`${k.walletId}:${k.counter}`);
    return Promise.resolve(out);
  }

  transferByReference(reference: string): Promise<Transfer | null> {
    const row = this.s.transferByReference.get(reference) as Row | undefined;
    return Promise.resolve(row ? transferFromRow(row) : null);
  }

  findAccounts(kind: Account['kind'], currency: string): Promise<Account[]> {
    return Promise.resolve((this.s.findAccounts.all(kind, currency) as Row[]).map(accountFromRow));
  }

  maxAccountNumber(branch: number): Promise<number> {
    const row = this.s.maxAccountNumber.get(branch) as { n: number | null };
    return Promise.resolve(row.n ?? -1);
  }

  bumpEpoch(): Promise<{ previous: number; current: number }> {
    const row = this.s.bumpEpoch.get() as { value: number } | undefined;
    invariant(row !== undefined, 'meta.write_epoch is missing');
    return Promise.resolve({ previous: row.value - 1, current: row.value });
  }

  apply(w: WriteSet): Promise<void> {
    for (const e of w.journalInserts) this.s.insertJournal.run(journalToParams(e));
    for (const u of w.journalUpdates) {
      const f = u.fields;
      const changed = this.s.updateJournal.run({
        device: u.key.deviceId, request: u.key.requestId, from: u.from, to: u.to,
        due_at: f.dueAt, awaiting: f.awaitingOutcome ? 1 : 0, outcome: f.outcome, outcome_request_id: f.outcomeRequestId,
        deposit_not_before: f.depositNotBefore, updated_at: f.updatedAt,
      }).changes;
      invariant(changed === 1, () => `journal ${u.key.deviceId}/${u.key.requestId} was not in state ${u.from} on disk`);
    }
    for (const t of w.transfers) this.s.insertTransfer.run(transferToParams(t));
    for (const t of w.tickets ?? []) this.s.insertTicket.run(...issuedTicketToValues(t));
    for (const b of w.walletBlocks ?? []) {
      const changed = this.s.blockWallet.run({ id: b.walletId, reason: b.reason, device: b.deviceId, request: b.requestId, at: b.at }).changes;
      invariant(changed === 1, () => `wallet ${b.walletId} is not active on disk`);
    }
    for (const r of w.emoney?.requests ?? []) this.s.insertEmoneyRequest.run(...emoneyRequestToValues(r));
    for (const t of w.emoney?.mints ?? []) this.s.insertEmoneyToken.run(...emoneyTokenToValues(t));
    for (const x of w.emoney?.spends ?? []) {
      invariant(this.s.spendEmoneyToken.run(x.spentAt, x.depositRequest, x.serial).changes === 1, () => `e-money token ${x.serial} is not unspent on disk`);
    }
    for (const b of w.balances) {
      const changed = this.s.updateBalance.run(b.after, b.id, b.before).changes;
      invariant(changed === 1, () => `account ${b.id} balance on disk is not ${b.before}`);
    }
    return Promise.resolve();
  }

  insertAccount(account: Account): Promise<void> {
    this.s.insertAccount.run(accountToParams(account));
    return Promise.resolve();
  }

  setAccountStatus(id: string, status: AccountStatus): Promise<void> {
    invariant(this.s.setAccountStatus.run(status, id).changes === 1, `no account ${id}`);
    return Promise.resolve();
  }

  setAttributes(id: string, attributes: CustomerAttributes): Promise<void> {
    invariant(this.s.setAttributes.run(JSON.stringify(attributes), id).changes === 1, `no account ${id}`);
    return Promise.resolve();
  }

  upsertDevice(d: Device): Promise<void> {
    this.s.upsertDevice.run({ id: d.id, kind: d.kind, merchant: d.merchant, status: d.status, created_at: d.createdAt });
    return Promise.resolve();
  }

  insertWallet(wallet: Wallet): Promise<void> {
    this.s.insertWallet.run({ id: wallet.id, account: wallet.account, status: wallet.status, request_counter: wallet.requestCounter, created_at: wallet.createdAt });
    return Promise.resolve();
  }

  advanceWalletRequestCounter(id: string, counter: number): Promise<boolean> {
    return Promise.resolve(this.s.advanceWalletRequestCounter.run(counter, id, counter).changes === 1);
  }

  setWalletStatus(id: string, status: Wallet['status']): Promise<void> {
    invariant(this.s.setWalletStatus.run(status, id).changes === 1, `no wallet ${id}`);
    return Promise.resolve();
  }

  getEmoneyRequest(requestId: string): Promise<EmoneyRequestRecord | null> {
    const row = this.s.emoneyRequest.get(requestId) as Row | undefined;
    return Promise.resolve(row ? emoneyRequestFromRow(row) : null);
  }

  getEmoneyTokens(serials: readonly string[]): Promise<Map<string, EmoneyTokenRecord>> {
    return Promise.resolve(this.many(this.s.emoneyToken, serials, emoneyTokenFromRow, (t) => t.token.serial));
  }
}
