/**
 * The settlement core (DESIGN §6): the journal, the engine, group commit and
 * the due-entry scheduler over one LedgerStore. In-process library; the
 * gateway and the CLI drive it.
 */
import { DeviceId, DeviceKind, decodeMessage, deriveWalletKey, limits as wireLimits } from '../protocol/index.ts';
import type { ReasonCode } from '../protocol/index.ts';
import * as admin from './admin.ts';
import type { OpenAccountInput } from './admin.ts';
import { audit } from './audit.ts';
import type { AuditReport } from './audit.ts';
import { loadBatch } from './engine/commands.ts';
import type { CancelReply, Command, OutcomeReply, SettleReply } from './engine/commands.ts';
import { rawFingerprint, requestFingerprint } from './engine/fingerprint.ts';
import { advance, applyOutcome, cancelDeferred } from './engine/lifecycle.ts';
import { buildOutcomeAck } from './engine/results.ts';
import { decideSettle } from './engine/settle.ts';
import type { ParsedSettle } from './engine/settle.ts';
import { CoreError, InvariantError } from './errors.ts';
import { GroupCommitter, defaultGroupCommitLimits } from './group-commit.ts';
import type { GroupCommitLimits } from './group-commit.ts';
import { CustomerAttributes, journalKeyString } from './model.ts';
import type { Account, Device, JournalKey, Transfer, Wallet } from './model.ts';
import type { LedgerStore, LedgerTx } from './store/ledger-store.ts';

export interface CoreLimits extends GroupCommitLimits {
  /** Largest single purchase the core will settle, minor units; above it: `over-limit`. */
  amountMinorMaxPerSettle: number;
  /** How often the scheduler looks for due entries (deposits, cooling-off ends, outcome deadlines), ms. */
  duePollMs: number;
  /** Due entries taken per look. */
  dueBatchMax: number;
}

export const defaultCoreLimits: CoreLimits = {
  ...defaultGroupCommitLimits,
  amountMinorMaxPerSettle: 50_000,
  duePollMs: 1000,
  dueBatchMax: 5000,
};

export interface CoreOptions {
  store: LedgerStore;
  /** Issuer master key (≥ 32 bytes): wallet keys derive from it. */
  issuerMasterKey: Uint8Array;
  /** The key a device verifies its results with. */
  deviceKey: (deviceId: string) => Uint8Array;
  clock?: () => number;
  limits?: Partial<CoreLimits>;
  /** Start the due-entry scheduler (default true). Tests turn it off and call runDue(). */
  scheduler?: boolean;
  /** Called once if an invariant breaks; the core refuses all work afterwards. Default: rethrow (crash). */
  onFatal?: (err: InvariantError) => void;
}

export interface CoreStats {
  batches: number;
  batchSizeLast: number;
  settled: number;
  replays: number;
  advanceDropped: number;
}

export class SettlementCore {
  readonly store: LedgerStore;
  readonly limits: CoreLimits;
  private readonly clock: () => number;
  private readonly committer: GroupCommitter<Command>;
  private readonly clearing = new Map<string, string>();
  private readonly advancing = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private fatal: InvariantError | null = null;
  private closed = false;
  readonly stats: CoreStats = { batches: 0, batchSizeLast: 0, settled: 0, replays: 0, advanceDropped: 0 };

  private constructor(private readonly options: CoreOptions) {
    this.store = options.store;
    this.limits = { ...defaultCoreLimits, ...options.limits };
    if (options.issuerMasterKey.byteLength < 32) throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'issuerMasterKey must be at least 32 bytes');
    if (!Number.isSafeInteger(this.limits.amountMinorMaxPerSettle) || this.limits.amountMinorMaxPerSettle < 1 || this.limits.amountMinorMaxPerSettle > wireLimits.amountMinorMax) {
      throw new CoreError('TS_ERR_INVALID_ARGUMENT', `amountMinorMaxPerSettle must be 1..${wireLimits.amountMinorMax}`);
    }
    this.clock = options.clock ?? Date.now;
    this.committer = new GroupCommitter(this.limits, (batch) => this.execute(batch), (c) => c.kind === 'task');
  }

  /** Opens the store, migrates it, and drives every unfinished journal entry forward (recovery). */
  static async open(options: CoreOptions): Promise<SettlementCore> {
    const core = new SettlementCore(options);
    await core.store.migrate();
    await core.refreshClearing();
    await core.runDue();
    if (options.scheduler !== false) core.startScheduler();
    return core;
  }

  // ---- settlement ------------------------------------------------------

  /** A settle request from `deviceId` (the authenticated sender). Resolves after the decision is durable. */
  settle(deviceId: string, payload: string | Uint8Array): Promise<SettleReply | { kind: 'unreadable'; reason: ReasonCode; message: string }> {
    const raw = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    const decoded = decodeMessage('settle', payload);
    let parsed: ParsedSettle;
    if (decoded.ok) parsed = { ok: true, deviceId, req: decoded.value, raw, fingerprint: requestFingerprint(decoded.value) };
    else if (decoded.requestId !== null && DeviceId.safeParse(deviceId).success) {
      parsed = { ok: false, deviceId, requestId: decoded.requestId, reason: decoded.reason, raw, fingerprint: rawFingerprint(raw) };
    } else return Promise.resolve({ kind: 'unreadable', reason: decoded.ok ? 'malformed-id' : decoded.reason, message: decoded.ok ? 'bad device id' : decoded.message });
    return this.submit<SettleReply>((resolve, reject) => ({ kind: 'settle', parsed, resolve, reject }));
  }

  /** A device outcome (dispensed, vend-failed, ...). Resolves with the tagged acknowledgement once durable. */
  outcome(deviceId: string, payload: string | Uint8Array): Promise<OutcomeReply | { kind: 'unreadable'; reason: ReasonCode; message: string }> {
    const decoded = decodeMessage('outcome', payload);
    if (!decoded.ok) return Promise.resolve({ kind: 'unreadable', reason: decoded.reason, message: decoded.message });
    if (decoded.value.deviceId !== deviceId) return Promise.resolve({ kind: 'unreadable', reason: 'device-mismatch', message: 'outcome names another device' });
    return this.submit<OutcomeReply>((resolve, reject) => ({ kind: 'outcome', outcome: decoded.value, resolve, reject }));
  }

  /** Claim 13: cancel a cooling-off purchase. `walletId` restricts it to the wallet that paid (null: operator). */
  cancel(key: JournalKey, walletId: string | null = null): Promise<CancelReply> {
    return this.submit<CancelReply>((resolve, reject) => ({ kind: 'cancel', key, walletId, resolve, reject }));
  }

  /** Processes every entry due now (deposits, cooling-off ends, expired outcome deadlines); returns how many were taken. */
  async runDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const keys = await this.store.dueEntries(this.clock(), this.limits.dueBatchMax);
      const fresh = keys.filter((k) => !this.advancing.has(journalKeyString(k)));
      for (const k of fresh) this.submitAdvance(k);
      total += fresh.length;
      await this.committer.idle();
      if (keys.length < this.limits.dueBatchMax || fresh.length === 0) return total;
    }
  }

  // ---- operator tasks --------------------------------------------------

  async initCurrency(currency: string): Promise<Account[]> {
    const created = await this.task((tx, now) => admin.initCurrency(tx, currency, now));
    await this.refreshClearing();
    return created;
  }
  openAccount(input: OpenAccountInput): Promise<Account> {
    return this.task((tx, now) => admin.openAccount(tx, input, now));
  }
  fund(input: { account: string; amount: number; reference: string }): Promise<Transfer | Omit<Transfer, 'id'>> {
    return this.task((tx, now) => admin.fund(tx, input, now));
  }
  registerDevice(input: { id: string; kind: Device['kind']; merchant: string; status?: Device['status'] }): Promise<Device> {
    if (!DeviceId.safeParse(input.id).success) return Promise.reject(new CoreError('TS_ERR_INVALID_ARGUMENT', `not a device id: ${JSON.stringify(input.id)}`));
    if (!DeviceKind.safeParse(input.kind).success) return Promise.reject(new CoreError('TS_ERR_INVALID_ARGUMENT', `device kind must be one of ${DeviceKind.options.join(', ')}`));
    return this.task((tx, now) => admin.registerDevice(tx, input, now));
  }
  /** Enrolls a phone wallet for a customer account. The wallet key is returned once, here; the core keeps no copy. */
  async enrollWallet(account: string): Promise<{ wallet: Wallet; walletKey: Buffer }> {
    const wallet = await this.task((tx, now) => admin.enrollWallet(tx, account, now));
    return { wallet, walletKey: deriveWalletKey(this.options.issuerMasterKey, wallet.id) };
  }
  setWalletStatus(id: string, status: Wallet['status']): Promise<void> {
    return this.task((tx) => tx.setWalletStatus(id, status));
  }
  setAccountStatus(id: string, status: Account['status']): Promise<void> {
    return this.task((tx) => tx.setAccountStatus(id, status));
  }
  setAttributes(id: string, attributes: CustomerAttributes): Promise<void> {
    return this.task(async (tx) => {
      const a = (await tx.getAccounts([id])).get(id);
      if (!a) throw new CoreError('TS_ERR_UNKNOWN_ACCOUNT', `no account ${id}`);
      const parsed = CustomerAttributes.safeParse(attributes);
      if (!parsed.success) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `attributes: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      await tx.setAttributes(id, parsed.data);
    });
  }

  get queueDepth(): number {
    return this.committer.depth;
  }

  audit(): Promise<AuditReport> {
    return audit(this.store);
  }

  /** Waits until everything submitted so far is durable and answered. */
  drain(): Promise<void> {
    return this.committer.idle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.committer.idle();
    await this.store.close();
  }

  // ---- internals -------------------------------------------------------

  private task<T>(run: (tx: LedgerTx, now: number) => Promise<T>): Promise<T> {
    return this.submit<T>((resolve, reject) => ({ kind: 'task', run, resolve: resolve, reject }));
  }

  private submit<T>(make: (resolve: (v: T) => void, reject: (e: unknown) => void) => Command): Promise<T> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new CoreError('TS_ERR_CLOSED', 'the settlement core is closed'));
    return new Promise<T>((resolve, reject) => this.committer.submit(make(resolve, reject)));
  }

  private submitAdvance(key: JournalKey): void {
    const k = journalKeyString(key);
    if (this.advancing.has(k) || this.fatal || this.closed) return;
    try {
      this.committer.submit({ kind: 'advance', key });
      this.advancing.add(k);
    } catch {
      // Queue full: the entry's dueAt is durable, the scheduler will find it again.
      this.stats.advanceDropped += 1;
    }
  }

  private clearingFor = (currency: string): string | undefined => this.clearing.get(currency);

  private async refreshClearing(): Promise<void> {
    for (const a of await this.store.listAccounts({ kind: 'clearing', limit: 1000 })) this.clearing.set(a.currency, a.id);
  }

  private startScheduler(): void {
    let busy = false;
    this.timer = setInterval(() => {
      if (busy || this.closed || this.fatal) return;
      busy = true;
      this.runDue().catch(() => undefined).finally(() => { busy = false; });
    }, this.limits.duePollMs);
    this.timer.unref();
  }

  private async execute(batch: Command[]): Promise<void> {
    const now = this.clock();
    const deps = { walletKey: (id: string) => deriveWalletKey(this.options.issuerMasterKey, id), deviceKey: this.options.deviceKey, clearingFor: this.clearingFor, amountMinorMaxPerSettle: this.limits.amountMinorMaxPerSettle };
    const settle: (() => void)[] = [];
    let dueNow: JournalKey[] = [];
    try {
      await this.store.transaction(async (tx) => {
        settle.length = 0;
        if (batch.length === 1 && batch[0]!.kind === 'task') {
          const t = batch[0]!;
          const value = await t.run(tx, now);
          settle.push(() => t.resolve(value));
          return;
        }
        const b = await loadBatch(tx, batch, this.clearing.values(), now);
        for (const c of batch) {
          switch (c.kind) {
            case 'settle': {
              const d = decideSettle(b, c.parsed, deps);
              if (d.replay) this.stats.replays += 1;
              settle.push(() => c.resolve({ kind: 'result', ...d }));
              break;
            }
            case 'outcome': {
              const status = applyOutcome(b, c.outcome, this.clearingFor);
              const o = c.outcome;
              const ack = buildOutcomeAck(deps.deviceKey(o.deviceId), { deviceId: o.deviceId, requestId: o.requestId, settleRequestId: o.settleRequestId, status }, now);
              settle.push(() => c.resolve({ kind: 'outcome-ack', ...ack }));
              break;
            }
            case 'cancel': {
              try {
                const status = cancelDeferred(b, c.key, c.walletId, this.clearingFor);
                settle.push(() => c.resolve({ status }));
              } catch (err) {
                if (!(err instanceof CoreError)) throw err;
                settle.push(() => c.reject(err));
              }
              break;
            }
            case 'advance':
              advance(b, c.key, this.clearingFor);
              break;
            case 'task':
              throw new InvariantError('a task was batched with other commands');
          }
        }
        const writes = b.finish();
        dueNow = [...writes.journalInserts, ...writes.journalUpdates.map((u) => ({ ...u.key, ...u.fields }))]
          .filter((e) => e.dueAt !== null && e.dueAt <= now)
          .map((e) => ({ deviceId: e.deviceId, requestId: e.requestId }));
        await tx.apply(writes);
      });
    } catch (err) {
      this.fail(batch, err);
      return;
    } finally {
      for (const c of batch) if (c.kind === 'advance') this.advancing.delete(journalKeyString(c.key));
    }
    this.stats.batches += 1;
    this.stats.batchSizeLast = batch.length;
    for (const s of settle) s();
    this.stats.settled += batch.filter((c) => c.kind === 'settle').length;
    for (const k of dueNow) this.submitAdvance(k);
  }

  private fail(batch: Command[], err: unknown): void {
    const error = err instanceof CoreError || err instanceof InvariantError ? err : new CoreError('TS_ERR_STORE', `store failure: ${(err as Error).message}`);
    for (const c of batch) if (c.kind !== 'advance') c.reject(error);
    if (error instanceof InvariantError) {
      this.fatal = error;
      if (this.options.onFatal) this.options.onFatal(error);
      else throw error;
    }
  }
}
