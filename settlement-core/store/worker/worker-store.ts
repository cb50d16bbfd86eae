/**
 * A SQLite ledger file served from its own worker thread (node:worker_threads).
 * better-sqlite3 is synchronous: in the main thread every statement and every
 * fsync stops the event loop, and N files in one process are written one
 * after another. Here the existing SqliteLedgerStore runs unchanged in a
 * worker (worker-main.ts), so the main thread decides while the worker
 * writes, and several files (the sharded store's servers) commit at once.
 *
 * Every LedgerStore and LedgerTx call is one message and one answer
 * (wire.ts). A unit of work stays open in the worker while the main thread
 * issues its calls; it commits when `fn` resolves and only then does
 * `transaction()` resolve, so "nothing answered before durable" holds as on
 * SQLite. Units of work run one at a time, as on SQLite.
 *
 * Bounded: calls in flight, bytes per message, the wait for one answer, the
 * worker's heap. A worker that dies or stops answering fails every waiting
 * call with a coded error (errors.ts) and leaves the store failed — never
 * hanging; its open unit of work was never committed, so nothing of it is
 * on disk. Reopen the store (a new process) to carry on: recovery does the
 * rest, as after any crash.
 */
import { Worker } from 'node:worker_threads';
import { CoreError } from '../../errors.ts';
import type { EmoneyToken } from '../../../protocol/index.ts';
import type { Account, Device, IssuedTicket, JournalEntry, JournalKey, StatementLine, Transfer, Wallet } from '../../model.ts';
import type { EmoneyInboxQuery, JournalQuery, LedgerStore, LedgerTx, StatementQuery } from '../ledger-store.ts';
import type { SqliteStoreOptions } from '../sqlite/sqlite-store.ts';
import { WorkerStoreError } from './errors.ts';
import { callName, checkSize, fromWire } from './wire.ts';
import type { Reply, RequestBody, StoreMethod, WorkerData, WorkerFaults } from './wire.ts';
import { WorkerTx } from './worker-tx.ts';

export interface WorkerStoreLimits {
  /**
   * Calls sent to the worker and not answered yet; past it a call is refused
   * with TS_ERR_STORE_WORKER_BUSY. The engine has one unit of work open and
   * awaits each call (the sharded store: one per server at once), so the rest
   * are reads (wallet API, dashboard): 1,024 waiting reads on one file is
   * already seconds behind.
   */
  callsInFlightMax: number;
  /**
   * Bytes of one call or answer (wire.ts payloadBytes). A batch of 1,000
   * settlements' WriteSet is ~1.3 MB (measured); the gateway allows
   * batchSizeMax up to 10,000, ~12.5 MB. 32 MiB leaves room for that and
   * stops a runaway page (a read asked for far more rows than any caller does).
   */
  messageBytesMax: number;
  /**
   * Longest wait for one answer, ms. A call holds the worker for
   * milliseconds (a batch's apply and its fsync'd COMMIT take tens); SQLite's
   * own lock wait is busyTimeoutMs (5 s). A worker silent this long is stuck:
   * it is terminated, its open unit of work rolls back, the store fails.
   */
  callTimeoutMs: number;
  /**
   * Longest wait for the worker to open the file, ms (calls sent meanwhile
   * wait for it; their callTimeoutMs starts when it is ready). Loading the
   * TypeScript sources through tsx takes ~0.5 s here, more on a busy machine;
   * a thread not ready after 30 s is not coming.
   */
  startTimeoutMs: number;
  /** The worker's JavaScript heap, MiB. It holds one batch's rows at a time; SQLite's page cache is outside it. */
  workerHeapMbMax: number;
}

export const defaultWorkerStoreLimits: WorkerStoreLimits = {
  callsInFlightMax: 1024,
  messageBytesMax: 32 * 1024 * 1024,
  callTimeoutMs: 30_000,
  startTimeoutMs: 30_000,
  workerHeapMbMax: 256,
};

export interface WorkerStoreOptions extends SqliteStoreOptions {
  limits?: Partial<WorkerStoreLimits>;
  /** Tests only: make the worker exit instead of answering a call. */
  faults?: WorkerFaults;
}

/** Where the time of a worker store's calls went, in the main thread (the benchmark reports it). */
export interface WorkerStoreStats {
  calls: number;
  /** Payload bytes of the calls (wire.ts payloadBytes). */
  bytesSent: number;
  /** Inside postMessage, main thread, ms: cloning the calls (their answers are cloned back before the 'message' event, not timed here). */
  postMs: number;
  commits: number;
  /** From asking the worker to commit to its answer (the COMMIT and its fsync), ms, summed. */
  commitMs: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  sentAt: number;
  name: string;
}

/** The worker's entry, loaded through tsx's loader (the project runs its TypeScript sources; a worker does not inherit the loader). */
const bootstrap = `
const { workerData } = require('node:worker_threads');
import(workerData.loader).then((tsx) => { tsx.register(); return import(workerData.entry); });
`;

export class WorkerLedgerStore implements LedgerStore {
  readonly kind = 'sqlite-worker';
  readonly path: string;
  readonly limits: WorkerStoreLimits;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private tail: Promise<unknown> = Promise.resolve();
  private closing = false;
  private closed = false;
  private failed: Error | null = null;
  private ready = false;
  private readonly startedAt = performance.now();
  private watchdog: NodeJS.Timeout | null = null;
  private readonly counters: WorkerStoreStats = { calls: 0, bytesSent: 0, postMs: 0, commits: 0, commitMs: 0 };

  constructor(options: WorkerStoreOptions) {
    if (typeof options.path !== 'string' || options.path.length === 0 || options.path === ':memory:') {
      throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'WorkerLedgerStore needs a file path (WAL and a separate reader need a file, not :memory:)');
    }
    this.limits = { ...defaultWorkerStoreLimits, ...options.limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new WorkerStoreError('TS_ERR_STORE_WORKER_OPTION', `WorkerLedgerStore limit ${k}: must be a positive integer, got ${String(v)}`);
    }
    this.path = options.path;
    const data: WorkerData & { loader: string; entry: string } = {
      path: options.path,
      ...(options.cacheKiB !== undefined ? { cacheKiB: options.cacheKiB } : {}),
      ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
      messageBytesMax: this.limits.messageBytesMax,
      faults: options.faults ?? {},
      loader: import.meta.resolve('tsx/esm/api'),
      entry: new URL('./worker-main.ts', import.meta.url).href,
    };
    this.worker = new Worker(bootstrap, { eval: true, workerData: data, resourceLimits: { maxOldGenerationSizeMb: this.limits.workerHeapMbMax } });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.answer(reply));
    this.worker.on('error', (err) => this.fail(new WorkerStoreError('TS_ERR_STORE_WORKER_DIED', `ledger worker for ${this.path} threw: ${err.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new WorkerStoreError('TS_ERR_STORE_WORKER_DIED', `ledger worker for ${this.path} exited (code ${code})`));
    });
  }

  /** open, failed (the worker died or stopped answering: every call is refused with why), or closed. */
  get state(): 'open' | 'failed' | 'closed' {
    return this.closed || this.closing ? 'closed' : this.failed ? 'failed' : 'open';
  }

  /** Why the store failed, or null. */
  get failure(): Error | null {
    return this.failed;
  }

  stats(): WorkerStoreStats {
    return { ...this.counters };
  }

  /** Sends one call and waits for its answer. */
  request(body: RequestBody): Promise<unknown> {
    if (this.closed) return Promise.reject(new CoreError('TS_ERR_CLOSED', 'the store is closed'));
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending.size >= this.limits.callsInFlightMax) {
      return Promise.reject(new WorkerStoreError('TS_ERR_STORE_WORKER_BUSY', `ledger worker for ${this.path}: ${this.pending.size} calls waiting (callsInFlightMax); retry later`));
    }
    const id = this.nextId++;
    const message = { ...body, id };
    let bytes: number;
    try {
      bytes = checkSize(message, this.limits.messageBytesMax);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise((resolve, reject) => {
      const started = performance.now();
      // postMessage clones the call here, in this thread: that is the clone cost this side pays.
      this.worker.postMessage(message);
      const sentAt = performance.now();
      this.counters.postMs += sentAt - started;
      this.counters.calls += 1;
      this.counters.bytesSent += bytes;
      this.pending.set(id, { resolve, reject, sentAt, name: callName(body) });
      if (this.pending.size === 1) {
        // Keep the process alive while the worker owes an answer; idle, the worker holds nothing up.
        this.worker.ref();
        this.startWatchdog();
      }
    });
  }

  private answer(reply: Reply): void {
    if (reply.id === 0) {
      if (!reply.ok) {
        // The worker could not open the file: that is the store's failure, with the SQLite error's class and code.
        this.fail(fromWire(reply.error));
        return;
      }
      // Ready: the calls waiting for it start their clocks now.
      this.ready = true;
      const now = performance.now();
      for (const p of this.pending.values()) p.sentAt = now;
      return;
    }
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (p.name === 'commit') {
      this.counters.commits += 1;
      this.counters.commitMs += performance.now() - p.sentAt;
    }
    if (this.pending.size === 0) this.idle();
    if (reply.ok) p.resolve(reply.value);
    else p.reject(fromWire(reply.error));
  }

  private idle(): void {
    this.worker.unref();
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** While calls wait: the oldest (the Map keeps send order) may not wait longer than callTimeoutMs. */
  private startWatchdog(): void {
    const everyMs = Math.max(10, Math.min(1000, Math.floor(this.limits.callTimeoutMs / 4)));
    this.watchdog = setInterval(() => {
      const now = performance.now();
      if (!this.ready) {
        if (now - this.startedAt > this.limits.startTimeoutMs) {
          this.fail(new WorkerStoreError('TS_ERR_STORE_WORKER_TIMEOUT', `ledger worker for ${this.path} did not start within ${this.limits.startTimeoutMs} ms; terminated`));
        }
        return;
      }
      const oldest = this.pending.values().next().value;
      if (oldest && now - oldest.sentAt > this.limits.callTimeoutMs) {
        this.fail(new WorkerStoreError('TS_ERR_STORE_WORKER_TIMEOUT', `ledger worker for ${this.path} did not answer ${oldest.name} within ${this.limits.callTimeoutMs} ms; terminated`));
      }
    }, everyMs);
    this.watchdog.unref();
  }

  /** The worker is gone or stuck: every waiting call fails with `err`, and so does every later one. */
  private fail(err: Error): void {
    if (this.failed || this.closed) return;
    this.failed = err;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.idle();
    for (const p of waiting) p.reject(err);
    void this.worker.terminate();
  }

  /** Tests only: the worker's faults from now on (wire.ts). */
  async setFaults(faults: WorkerFaults): Promise<void> {
    await this.request({ op: 'faults', faults });
  }

  migrate(): Promise<void> {
    return this.store('migrate', []);
  }

  transaction<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T> {
    if (this.closing || this.closed) return Promise.reject(new CoreError('TS_ERR_CLOSED', 'the store is closed'));
    const run = async (): Promise<T> => {
      const tx = new WorkerTx(this, await this.request({ op: 'begin' }) as number);
      let value: T;
      try {
        value = await fn(tx);
      } catch (err) {
        tx.end();
        await this.request({ op: 'end', tx: tx.id, commit: false }).catch(() => undefined);
        throw err;
      }
      tx.end();
      await this.request({ op: 'end', tx: tx.id, commit: true });
      return value;
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private store<T>(method: StoreMethod, args: unknown[]): Promise<T> {
    return this.request({ op: 'store', method, args }) as Promise<T>;
  }

  getAccount(id: string): Promise<Account | null> {
    return this.store('getAccount', [id]);
  }

  listAccounts(query: { kind?: Account['kind']; limit: number; afterId?: string }): Promise<Account[]> {
    return this.store('listAccounts', [query]);
  }

  getDevice(id: string): Promise<Device | null> {
    return this.store('getDevice', [id]);
  }

  listDevices(): Promise<Device[]> {
    return this.store('listDevices', []);
  }

  getWallet(id: string): Promise<Wallet | null> {
    return this.store('getWallet', [id]);
  }

  statement(accountId: string, query: StatementQuery): Promise<StatementLine[]> {
    return this.store('statement', [accountId, query]);
  }

  getJournalEntry(key: JournalKey): Promise<JournalEntry | null> {
    return this.store('getJournalEntry', [key]);
  }

  walletTickets(walletId: string, limit: number): Promise<IssuedTicket[]> {
    return this.store('walletTickets', [walletId, limit]);
  }

  emoneyInbox(walletId: string, query: EmoneyInboxQuery): Promise<EmoneyToken[]> {
    return this.store('emoneyInbox', [walletId, query]);
  }

  emoneyOutstanding(): Promise<Map<string, { value: number; count: number }>> {
    return this.store('emoneyOutstanding', []);
  }

  listJournal(query: JournalQuery): Promise<JournalEntry[]> {
    return this.store('listJournal', [query]);
  }

  countJournalByState(): Promise<Record<string, number>> {
    return this.store('countJournalByState', []);
  }

  dueEntries(nowMs: number, limit: number): Promise<JournalKey[]> {
    return this.store('dueEntries', [nowMs, limit]);
  }

  nextDueAt(): Promise<number | null> {
    return this.store('nextDueAt', []);
  }

  scanTransfers(afterId: number, limit: number): Promise<Transfer[]> {
    return this.store('scanTransfers', [afterId, limit]);
  }

  scanJournal(after: JournalKey | null, limit: number): Promise<JournalEntry[]> {
    return this.store('scanJournal', [after, limit]);
  }

  /** After every unit of work already asked for; then the worker closes the file and is terminated. Resolves even if the worker had died. */
  async close(): Promise<void> {
    if (this.closing || this.closed) return;
    this.closing = true;
    await this.tail;
    if (!this.failed) await this.request({ op: 'close' }).catch(() => undefined);
    this.closed = true;
    this.idle();
    await this.worker.terminate();
  }
}
