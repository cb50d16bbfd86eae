/**
 * One unit of work on one pooled connection, inside BEGIN … COMMIT (opened
 * and closed by PgLedgerStore.transaction). Bulk reads take one round trip
 * each; apply() writes each table with one multi-row statement and checks,
 * from the rows the statement reports, that every journal update started from
 * the state on disk and every balance update from the balance on disk.
 */
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { InvariantError, invariant } from '../../errors.ts';
import { journalKeyString } from '../../model.ts';
import { emoneyRequestFromRow, emoneyRequestToValues, emoneyTokenFromRow, emoneyTokenToValues } from '../../emoney/rows.ts';
import type { Account, AccountStatus, CustomerAttributes, Device, EmoneyRequestRecord, EmoneyTokenRecord, JournalEntry, JournalKey, Transfer, Wallet } from '../../model.ts';
import type { BalanceUpdate, CounterKey, JournalUpdate, LedgerTx, WriteSet } from '../ledger-store.ts';
import { pgArray } from './binary-arrays.ts';
import type { ArrayType } from './binary-arrays.ts';
import { issuedTicketToValues } from '../row-mapping.ts';
import { accountFromRow, accountToValues, deviceFromRow, int, journalFromRow, journalInsertColumns, journalToValues, ticketInsertColumns, transferFromRow, transferInsertColumns, transferToValues, walletFromRow } from './rows.ts';
import { rowsPerStatementMax, statements as s } from './statements.ts';
import type { Sql } from './statements.ts';

/** Consecutive slices of at most rowsPerStatementMax. */
function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += rowsPerStatementMax) yield items.slice(i, i + rowsPerStatementMax);
}

/**
 * Splits updates into rounds: round n holds the n-th update of each key. One
 * multi-row UPDATE can change a row only once, while the SQLite store applies
 * updates one by one; running rounds in order gives the same result when a
 * write set updates one key twice (the engine never does: one round).
 */
function rounds<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const out: T[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const k = keyOf(item);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    (out[n] ??= []).push(item);
  }
  return out;
}

/** Rows as one binary array parameter per column. */
function columns(rows: readonly unknown[][], types: readonly (readonly [string, ArrayType])[]): Buffer[] {
  return types.map(([, type], c) => pgArray(type, rows.map((row) => row[c])));
}

export class PgTx implements LedgerTx {
  private ended = false;
  /**
   * The first statement (or apply) that failed. PostgreSQL aborts the
   * transaction on any failed statement, so the store rolls back instead of
   * committing even if fn caught the error and went on.
   */
  failure: Error | null = null;

  constructor(private readonly client: PoolClient) {}

  /** Called by the store when the transaction ends; any later use is a bug in the caller. */
  end(): void {
    this.ended = true;
  }

  private async run<R extends QueryResultRow = QueryResultRow>(stmt: Sql, values: unknown[]): Promise<QueryResult<R>> {
    if (this.ended) throw new InvariantError('a LedgerTx was used after its transaction ended');
    try {
      return await this.client.query<R>({ name: stmt.name, text: stmt.text, values });
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  private async q(stmt: Sql, values: unknown[]): Promise<QueryResultRow[]> {
    return (await this.run(stmt, values)).rows;
  }

  private async count(stmt: Sql, values: unknown[]): Promise<number> {
    return (await this.run(stmt, values)).rowCount ?? 0;
  }

  async getAccounts(ids: readonly string[]): Promise<Map<string, Account>> {
    if (ids.length === 0) return new Map();
    return new Map((await this.q(s.accounts, [pgArray('text', ids)])).map((r) => accountFromRow(r)).map((a) => [a.id, a]));
  }

  async getDevices(ids: readonly string[]): Promise<Map<string, Device>> {
    if (ids.length === 0) return new Map();
    return new Map((await this.q(s.devices, [pgArray('text', ids)])).map((r) => deviceFromRow(r)).map((d) => [d.id, d]));
  }

  async getWallets(ids: readonly string[]): Promise<Map<string, Wallet>> {
    if (ids.length === 0) return new Map();
    return new Map((await this.q(s.wallets, [pgArray('text', ids)])).map((r) => walletFromRow(r)).map((w) => [w.id, w]));
  }

  async getJournalEntries(keys: readonly JournalKey[]): Promise<Map<string, JournalEntry>> {
    if (keys.length === 0) return new Map();
    const rows = await this.q(s.journalByKeys, [pgArray('text', keys.map((k) => k.deviceId)), pgArray('text', keys.map((k) => k.requestId))]);
    return new Map(rows.map((r) => journalFromRow(r)).map((e) => [journalKeyString(e), e]));
  }

  async countersUsed(keys: readonly CounterKey[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.q(s.countersUsed, [pgArray('text', keys.map((k) => k.walletId)), pgArray('bigint', keys.map((k) => k.counter))]);
    return new Set(rows.map((r) => `${String(r.wallet_id)}:${int(r.counter, 'journal.counter')}`));
  }

  async transferByReference(reference: string): Promise<Transfer | null> {
    const [row] = await this.q(s.transferByReference, [reference]);
    return row ? transferFromRow(row) : null;
  }

  async findAccounts(kind: Account['kind'], currency: string): Promise<Account[]> {
    return (await this.q(s.findAccounts, [kind, currency])).map((r) => accountFromRow(r));
  }

  async maxAccountNumber(branch: number): Promise<number> {
    const [row] = await this.q(s.maxAccountNumber, [branch]);
    return row?.n === null || row === undefined ? -1 : int(row.n, 'accounts.max(number)');
  }

  async bumpEpoch(): Promise<{ previous: number; current: number }> {
    const [row] = await this.q(s.bumpEpoch, []);
    invariant(row !== undefined, 'meta.write_epoch is missing');
    const current = int(row.value, 'meta.write_epoch');
    return { previous: current - 1, current };
  }

  async apply(w: WriteSet): Promise<void> {
    try {
      await this.applyAll(w);
    } catch (err) {
      // Part of the write set may be written: this transaction must not commit.
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  private async applyAll(w: WriteSet): Promise<void> {
    for (const chunk of chunks(w.journalInserts)) {
      await this.q(s.insertJournal, columns(chunk.map(journalToValues), journalInsertColumns));
    }
    for (const round of rounds(w.journalUpdates, (u) => journalKeyString(u.key))) {
      for (const chunk of chunks(round)) await this.updateJournal(chunk);
    }
    for (const chunk of chunks(w.transfers)) {
      await this.q(s.insertTransfers, columns(chunk.map(transferToValues), transferInsertColumns));
    }
    for (const chunk of chunks(w.tickets ?? [])) {
      await this.q(s.insertTickets, columns(chunk.map(issuedTicketToValues), ticketInsertColumns));
    }
    for (const chunk of chunks(w.walletBlocks ?? [])) {
      const text = (values: unknown[]) => pgArray('text', values);
      const rows = await this.q(s.blockWallets, [
        text(chunk.map((b) => b.walletId)), text(chunk.map((b) => b.reason)), text(chunk.map((b) => b.deviceId)), text(chunk.map((b) => b.requestId)), pgArray('bigint', chunk.map((b) => b.at)),
      ]);
      const done = new Set(rows.map((r) => String(r.id)));
      const missed = chunk.find((b) => !done.has(b.walletId));
      invariant(missed === undefined, () => `wallet ${missed!.walletId} is not active on disk`);
    }
    for (const r of w.emoney?.requests ?? []) await this.q(s.insertEmoneyRequest, emoneyRequestToValues(r));
    for (const t of w.emoney?.mints ?? []) await this.q(s.insertEmoneyToken, emoneyTokenToValues(t));
    for (const x of w.emoney?.spends ?? []) {
      invariant((await this.count(s.spendEmoneyToken, [x.spentAt, x.depositRequest, x.serial])) === 1, () => `e-money token ${x.serial} is not unspent on disk`);
    }
    for (const round of rounds(w.balances, (b) => b.id)) {
      // Sorted, so two writers that bypass the epoch lock still lock rows in one order.
      const sorted = [...round].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const chunk of chunks(sorted)) await this.updateBalances(chunk);
    }
  }

  private async updateJournal(updates: JournalUpdate[]): Promise<void> {
    const f = updates.map((u) => u.fields);
    const text = (values: unknown[]) => pgArray('text', values);
    const bigint = (values: unknown[]) => pgArray('bigint', values);
    const rows = await this.q(s.updateJournal, [
      text(updates.map((u) => u.key.deviceId)), text(updates.map((u) => u.key.requestId)), text(updates.map((u) => u.from)), text(updates.map((u) => u.to)),
      bigint(f.map((x) => x.dueAt)), pgArray('boolean', f.map((x) => x.awaitingOutcome)), text(f.map((x) => x.outcome)), text(f.map((x) => x.outcomeRequestId)),
      bigint(f.map((x) => x.depositNotBefore)), bigint(f.map((x) => x.updatedAt)),
    ]);
    if (rows.length === updates.length) return;
    const done = new Set(rows.map((r) => journalKeyString({ deviceId: String(r.device_id), requestId: String(r.request_id) })));
    const u = updates.find((x) => !done.has(journalKeyString(x.key))) ?? updates[0]!;
    throw new InvariantError(`journal ${u.key.deviceId}/${u.key.requestId} was not in state ${u.from} on disk`);
  }

  private async updateBalances(updates: BalanceUpdate[]): Promise<void> {
    const rows = await this.q(s.updateBalances, [pgArray('text', updates.map((b) => b.id)), pgArray('bigint', updates.map((b) => b.before)), pgArray('bigint', updates.map((b) => b.after))]);
    if (rows.length === updates.length) return;
    const done = new Set(rows.map((r) => String(r.id)));
    const b = updates.find((x) => !done.has(x.id)) ?? updates[0]!;
    throw new InvariantError(`account ${b.id} balance on disk is not ${b.before}`);
  }

  async insertAccount(account: Account): Promise<void> {
    await this.q(s.insertAccount, accountToValues(account));
  }

  async setAccountStatus(id: string, status: AccountStatus): Promise<void> {
    invariant((await this.count(s.setAccountStatus, [id, status])) === 1, `no account ${id}`);
  }

  async setAttributes(id: string, attributes: CustomerAttributes): Promise<void> {
    invariant((await this.count(s.setAttributes, [id, JSON.stringify(attributes)])) === 1, `no account ${id}`);
  }

  async upsertDevice(d: Device): Promise<void> {
    await this.q(s.upsertDevice, [d.id, d.kind, d.merchant, d.status, d.createdAt]);
  }

  async insertWallet(wallet: Wallet): Promise<void> {
    await this.q(s.insertWallet, [wallet.id, wallet.account, wallet.status, wallet.requestCounter, wallet.createdAt]);
  }

  async setWalletStatus(id: string, status: Wallet['status']): Promise<void> {
    invariant((await this.count(s.setWalletStatus, [id, status])) === 1, `no wallet ${id}`);
  }

  async advanceWalletRequestCounter(id: string, counter: number): Promise<boolean> {
    return (await this.count(s.advanceWalletRequestCounter, [id, counter])) === 1;
  }

  async getEmoneyRequest(requestId: string): Promise<EmoneyRequestRecord | null> {
    const [row] = await this.q(s.emoneyRequest, [requestId]);
    return row ? emoneyRequestFromRow(row) : null;
  }

  async getEmoneyTokens(serials: readonly string[]): Promise<Map<string, EmoneyTokenRecord>> {
    if (serials.length === 0) return new Map();
    return new Map((await this.q(s.emoneyTokens, [pgArray('text', serials)])).map((r) => emoneyTokenFromRow(r)).map((t) => [t.token.serial, t]));
  }
}
