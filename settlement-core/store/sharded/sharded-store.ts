/**
 * The sharded store (claims 19–24, DESIGN §6): one logical ledger over N
 * database servers, each an ordinary LedgerStore (SQLite files, PostgreSQL
 * databases or schemas). The directory (directory.ts) places every user's
 * data file; plan.ts splits the engine's writes per server; deliver.ts
 * finishes movements between servers, after a crash too; hot.ts keeps hot
 * accounts' auxiliary files and integrates them; audit.ts checks it all.
 *
 * Where the journal lives: each entry on its payer's server. The entry, the
 * withdrawal and the answer then commit in one transaction on one server,
 * so "approved" is never said for money not withdrawn, and exactly-once
 * holds per server by its unique key; the key is looked for on every server
 * before it is inserted (one writer at a time, so no other can slip in).
 * Entries that name no payer (declined early) go to the merchant's server,
 * else server 0; a declined offline debt that blocks a wallet on server 0,
 * with the wallet. Devices and wallets (the registry) live on server 0, and
 * so does the write epoch. E-money (emoney.ts): tokens and the floats' money
 * on server 0, a paid issuance's request with its payer.
 */
import type { EmoneyToken } from '../../../protocol/index.ts';
import { CoreError } from '../../errors.ts';
import { journalKeyString } from '../../model.ts';
import type { Account, Device, IssuedTicket, JournalEntry, JournalKey, StatementLine, Transfer, Wallet } from '../../model.ts';
import type { EmoneyInboxQuery, JournalQuery, LedgerStore, LedgerTx, StatementQuery } from '../ledger-store.ts';
import { auditSharded } from './audit.ts';
import type { ShardedAuditReport } from './audit.ts';
import { BoundedMap } from './bounded-map.ts';
import type { ShardContext } from './context.ts';
import { floatFor, noteSystemAccount, placementOf } from './context.ts';
import { deliverCredits, reconcile } from './deliver.ts';
import type { Directory } from './directory.ts';
import { emoneyServer } from './emoney.ts';
import { ShardedStoreError } from './errors.ts';
import { globalId, isPositionAccount, isSystemAccount, localAfter } from './ids.ts';
import { logicalAccount, mergeAccounts } from './logical.ts';
import { moveBalances, restoreMovedFiles } from './move.ts';
import type { Credit } from './plan.ts';
import { repairCopies } from './repair.ts';
import { ShardedTx } from './sharded-tx.ts';
import { mergedStatement, singleFileStatement } from './statement.ts';
import { Unit } from './unit.ts';
import type { UnitFaults } from './unit.ts';

export interface ShardedStoreLimits {
  /** Journal keys whose server is remembered (~100 bytes each): a deposit finds its entry without asking every server. 200,000 covers a few minutes of full load. */
  entryServerMemoMax: number;
  /** Wallet → account pairs remembered (~100 bytes each), so a counter is looked up on one server; as many as the core's registry cache. */
  walletMemoMax: number;
}

export const defaultShardedStoreLimits: ShardedStoreLimits = { entryServerMemoMax: 200_000, walletMemoMax: 250_000 };

export interface ShardedStoreFaults extends UnitFaults {
  /** Called after a unit's servers committed, before its cross-server credits are delivered (tests inject a crash here). */
  beforeCredits?(credits: readonly Credit[]): void;
}

export interface ShardedStoreOptions {
  /** One store per server, in the directory's server order. The sharded store owns them: it migrates and closes them. */
  servers: readonly LedgerStore[];
  directory: Directory;
  limits?: Partial<ShardedStoreLimits>;
  faults?: ShardedStoreFaults;
}

export class ShardedLedgerStore implements LedgerStore {
  readonly kind = 'sharded';
  readonly servers: readonly LedgerStore[];
  readonly directory: Directory;
  readonly limits: ShardedStoreLimits;
  private readonly ctx: ShardContext;
  private readonly faults: ShardedStoreFaults;
  /** Credits a committed unit still owes (its delivery failed): delivered before anything else runs. */
  private pending: Credit[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly closers: (() => void)[] = [];

  constructor(options: ShardedStoreOptions) {
    if (options.servers.length !== options.directory.serverCount) {
      throw new ShardedStoreError('TS_ERR_SHARDED_OPTION', `the directory names ${options.directory.serverCount} servers, ${options.servers.length} stores were given`);
    }
    this.limits = { ...defaultShardedStoreLimits, ...options.limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new ShardedStoreError('TS_ERR_SHARDED_OPTION', `ShardedLedgerStore limit ${k}: must be a positive integer, got ${String(v)}`);
    }
    this.servers = options.servers;
    this.directory = options.directory;
    this.faults = options.faults ?? {};
    this.ctx = {
      servers: this.servers, directory: this.directory, clearing: new Map(), systemAccounts: new Map(),
      entryServers: new BoundedMap(this.limits.entryServerMemoMax), walletAccounts: new BoundedMap(this.limits.walletMemoMax),
    };
  }

  /**
   * Migrates every server, restores missing copies of system and hot
   * accounts and the new files of cut moves, delivers credits a crash left
   * undelivered, and finishes cut moves (move.ts).
   */
  async migrate(): Promise<void> {
    this.assertOpen();
    for (const s of this.servers) await s.migrate();
    await this.exclusive(async () => {
      await repairCopies(this.servers, placementOf(this.ctx), this.directory.hotAccounts);
      await restoreMovedFiles(this);
      await this.loadClearing();
      await reconcile(this.servers, this.ctx.clearing.values());
      await this.finishMoves();
    });
  }

  /** Moves what a moved account's former files still hold (a move cut between its directory change and its balance leg). */
  private async finishMoves(): Promise<void> {
    for (const id of this.directory.movedAccounts) {
      const held = await Promise.all(this.directory.formerServers(id).map(async (s) => (await this.servers[s]!.getAccount(id))?.balance ?? 0));
      if (held.some((b) => b !== 0)) await moveBalances(this, id);
    }
  }

  /** Delivers every credit owed between servers: this process's pending ones, then any a crash left (call inside exclusive()). */
  async deliverOwed(): Promise<void> {
    if (this.pending.length > 0) {
      await deliverCredits(this.servers, this.pending);
      this.pending = [];
    }
    await reconcile(this.servers, this.ctx.clearing.values());
  }

  /** The system accounts (a few per currency; 10,000 bounds the look), from server 0: clearing accounts by currency, floats told apart. */
  private async loadClearing(): Promise<void> {
    for (const a of await this.servers[0]!.listAccounts({ limit: 10_000 })) {
      if (!isSystemAccount(a.id)) break; // branch 000 sorts first
      noteSystemAccount(this.ctx, a);
      if (a.kind === 'clearing' && !this.ctx.clearing.has(a.currency)) this.ctx.clearing.set(a.currency, a.id);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CoreError('TS_ERR_CLOSED', 'the store is closed');
  }

  /** Runs `fn` alone: after every earlier unit of work, before every later one. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CoreError('TS_ERR_CLOSED', 'the store is closed'));
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  transaction<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.unitOfWork(fn));
  }

  /** One unit of work: owed credits first, then the servers' parts (committed together), then this unit's credits. */
  async unitOfWork<T>(fn: (tx: ShardedTx, unit: Unit) => Promise<T>): Promise<T> {
    if (this.pending.length > 0) {
      await deliverCredits(this.servers, this.pending);
      this.pending = [];
    }
    const unit = new Unit(this.servers, this.faults);
    let value: T;
    let tx: ShardedTx;
    try {
      await unit.begin();
      tx = new ShardedTx(this.ctx, unit);
      value = await fn(tx, unit);
    } catch (err) {
      await unit.rollback();
      throw err;
    }
    await unit.commit();
    if (tx.credits.length > 0) {
      this.faults.beforeCredits?.(tx.credits);
      try {
        await deliverCredits(this.servers, tx.credits);
      } catch {
        // The sends are durable: the credits are owed, and delivered before the next unit of work (or by recovery).
        this.pending = tx.credits;
      }
    }
    return value;
  }

  private get placement() {
    return placementOf(this.ctx);
  }

  // ---- reads of committed data -------------------------------------------

  async getAccount(id: string): Promise<Account | null> {
    this.assertOpen();
    if (isPositionAccount(id)) return null;
    const p = this.placement;
    if (p.isEverywhere(id)) return logicalAccount(await Promise.all(this.servers.map(async (s) => (await s.getAccount(id)) ?? undefined)), p.homeOf(id) ?? 0) ?? null;
    const s = p.homeOf(id);
    return s === null ? null : this.servers[s]!.getAccount(id);
  }

  async listAccounts(query: { kind?: Account['kind']; limit: number; afterId?: string }): Promise<Account[]> {
    this.assertOpen();
    // Each server's first rows past the cursor hold every logical account among the first `limit`, plus at most its positions.
    const positions = (this.servers.length - 1) * Math.max(1, this.ctx.clearing.size);
    const rows = await Promise.all(this.servers.map((s) => s.listAccounts({ ...query, limit: query.limit + positions })));
    return mergeAccounts(rows, this.placement.isEverywhere, this.placement.homeOf).slice(0, query.limit);
  }

  getDevice(id: string): Promise<Device | null> {
    return this.servers[0]!.getDevice(id);
  }

  listDevices(): Promise<Device[]> {
    return this.servers[0]!.listDevices();
  }

  getWallet(id: string): Promise<Wallet | null> {
    return this.servers[0]!.getWallet(id);
  }

  /**
   * A ticket lives with the settlement that paid for it (plan.ts), so a
   * wallet's tickets are on several servers: each server's newest first,
   * merged by mint time (a ticket id is a UUIDv7 of it), newest first.
   */
  async walletTickets(walletId: string, limit: number): Promise<IssuedTicket[]> {
    this.assertOpen();
    const lists = await Promise.all(this.servers.map((s) => s.walletTickets(walletId, limit)));
    const mintedAt = (t: IssuedTicket) => t.ticket.ticketId.slice(0, 13); // 48-bit ms time, fixed-width hex: compares as text
    const heads = lists.map(() => 0);
    const out: IssuedTicket[] = [];
    while (out.length < limit) {
      let pick = -1;
      for (const [s, list] of lists.entries()) {
        const t = list[heads[s]!];
        if (t !== undefined && (pick < 0 || mintedAt(t) > mintedAt(lists[pick]![heads[pick]!]!))) pick = s;
      }
      if (pick < 0) break;
      out.push(lists[pick]![heads[pick]!]!);
      heads[pick]! += 1;
    }
    return out;
  }

  /** Live tokens are on the e-money server (emoney.ts): the inbox is one indexed read there. */
  emoneyInbox(walletId: string, query: EmoneyInboxQuery): Promise<EmoneyToken[]> {
    this.assertOpen();
    return this.servers[emoneyServer]!.emoneyInbox(walletId, query);
  }

  /** Summed over every server: the audit's float check then covers a token left unspent anywhere (only server 0 should hold any). */
  async emoneyOutstanding(): Promise<Map<string, { value: number; count: number }>> {
    this.assertOpen();
    const out = new Map<string, { value: number; count: number }>();
    for (const m of await Promise.all(this.servers.map((s) => s.emoneyOutstanding()))) {
      for (const [id, o] of m) {
        const sum = out.get(id) ?? { value: 0, count: 0 };
        out.set(id, { value: sum.value + o.value, count: sum.count + o.count });
      }
    }
    return out;
  }

  statement(accountId: string, query: StatementQuery): Promise<StatementLine[]> {
    this.assertOpen();
    const p = this.placement;
    const floatOf = (currency: string) => floatFor(this.ctx, currency);
    if (p.isEverywhere(accountId)) return mergedStatement(this.servers, accountId, query, p.isHot(accountId) ? floatOf : null);
    const s = p.homeOf(accountId);
    if (s === null) return Promise.resolve([]);
    const former = this.directory.formerServers(accountId);
    // A moved account: its new file and the former ones it left, merged (move.ts).
    return former.length > 0 ? mergedStatement(this.servers, accountId, query, floatOf, [s, ...former]) : singleFileStatement(this.servers[s]!, s, accountId, query, floatOf);
  }

  async getJournalEntry(key: JournalKey): Promise<JournalEntry | null> {
    this.assertOpen();
    const memo = this.ctx.entryServers.get(journalKeyString(key));
    const order = memo === undefined ? this.servers.map((_, i) => i) : [memo, ...this.servers.map((_, i) => i).filter((i) => i !== memo)];
    for (const s of order) {
      const e = await this.servers[s]!.getJournalEntry(key);
      if (e) return { ...e, seq: e.seq === null ? null : globalId(e.seq, s) };
    }
    return null;
  }

  async listJournal(query: JournalQuery): Promise<JournalEntry[]> {
    this.assertOpen();
    const pages = await Promise.all(this.servers.map(async (store, s) => {
      const after = query.afterSeq === undefined ? undefined : localAfter(query.afterSeq, s);
      const page = await store.listJournal({ ...query, ...(after !== undefined ? { afterSeq: after } : {}) });
      return page.map((e) => ({ ...e, seq: globalId(e.seq!, s) }));
    }));
    return pages.flat().sort((a, b) => a.seq - b.seq).slice(0, query.limit);
  }

  async countJournalByState(): Promise<Record<string, number>> {
    this.assertOpen();
    const out: Record<string, number> = {};
    for (const counts of await Promise.all(this.servers.map((s) => s.countJournalByState()))) {
      for (const [state, n] of Object.entries(counts)) out[state] = (out[state] ?? 0) + n;
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  async dueEntries(nowMs: number, limit: number): Promise<JournalKey[]> {
    this.assertOpen();
    const lists = await Promise.all(this.servers.map((s) => s.dueEntries(nowMs, limit)));
    // Each server's list is oldest first; take them in turn so no server waits behind another.
    const out: JournalKey[] = [];
    for (let i = 0; out.length < limit && lists.some((l) => i < l.length); i += 1) {
      for (const l of lists) if (i < l.length && out.length < limit) out.push(l[i]!);
    }
    return out;
  }

  async nextDueAt(): Promise<number | null> {
    this.assertOpen();
    const all = (await Promise.all(this.servers.map((s) => s.nextDueAt()))).filter((d): d is number => d !== null);
    return all.length === 0 ? null : Math.min(...all);
  }

  async scanTransfers(afterId: number, limit: number): Promise<Transfer[]> {
    this.assertOpen();
    const pages = await Promise.all(this.servers.map(async (store, s) => (await store.scanTransfers(localAfter(afterId, s), limit)).map((t) => ({ ...t, id: globalId(t.id, s) }))));
    return pages.flat().sort((a, b) => a.id - b.id).slice(0, limit);
  }

  async scanJournal(after: JournalKey | null, limit: number): Promise<JournalEntry[]> {
    this.assertOpen();
    const pages = await Promise.all(this.servers.map(async (store, s) => (await store.scanJournal(after, limit)).map((e) => ({ ...e, seq: e.seq === null ? null : globalId(e.seq, s) }))));
    const cmp = (a: JournalKey, b: JournalKey) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0);
    return pages.flat().sort(cmp).slice(0, limit);
  }

  /**
   * The global audit (audit.ts): every server, the journal across servers,
   * the clearing between them. It runs between this store's units of work,
   * so it sees no movement half done across servers (a credit whose send it
   * has not read yet); meanwhile this process's settlements wait. Another
   * process writing the same servers is not held back: run it on a quiet
   * ledger then, or read a difference as one to check again.
   */
  audit(): Promise<ShardedAuditReport> {
    return this.exclusive(() => auditSharded(this));
  }

  /** Delivers every credit a crash left undelivered, on demand (recovery does it on start). */
  reconcile(): Promise<number> {
    return this.exclusive(() => reconcile(this.servers, this.ctx.clearing.values()));
  }

  clearingFor(currency: string): string | undefined {
    return this.ctx.clearing.get(currency);
  }

  /** Called when the store closes (the periodic integration stops its timer). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closers) fn();
    await this.tail;
    for (const s of this.servers) await s.close();
    this.directory.close();
  }
}
