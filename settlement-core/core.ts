/**
 * The settlement core (DESIGN §6): the journal, the engine, group commit and
 * the due-entry scheduler over one LedgerStore. In-process library; the
 * gateway and the CLI drive it.
 */
import { DeviceId, DeviceKind, decodeMessage, deriveWalletKey, limits as wireLimits, verifyWalletRequestMac } from '../protocol/index.ts';
import type { WalletRequestInput } from '../protocol/index.ts';
import type { ReasonCode } from '../protocol/index.ts';
import * as admin from './admin.ts';
import type { FundInput, OpenAccountInput } from './admin.ts';
import { audit } from './audit.ts';
import type { AuditReport } from './audit.ts';
import { loadBatch } from './engine/commands.ts';
import { ReadCache } from './engine/read-cache.ts';
import type { CancelReply, Command, OutcomeReply, SettleReply } from './engine/commands.ts';
import { rawFingerprint, requestFingerprint } from './engine/fingerprint.ts';
import { advance, applyOutcome, cancelDeferred } from './engine/lifecycle.ts';
import { buildOutcomeAck } from './engine/results.ts';
import { decideSettle } from './engine/settle.ts';
import { ticketMinter } from './engine/tickets.ts';
import type { MintTicket } from './engine/tickets.ts';
import type { ParsedSettle, SettleDeps } from './engine/settle.ts';
import type { BatchState } from './engine/batch-state.ts';
import { EmoneyDepositBody, EmoneyError, EmoneyIssueBody, decideDeposit, decideIssue, verificationKeys, verifyTokens } from './emoney/index.ts';
import type { EmoneyDepositAnswer, EmoneyIssueAnswer, EmoneyIssuer, EmoneyReply } from './emoney/index.ts';
import { answerOf, decideCapture, decideReversal, parseCapture, parseReversal } from './cards/ledger.ts';
import { auditCards } from './cards/ledger-audit.ts';
import type { CardLedgerAnswer, CardSaleCapture, CardSaleReversal } from './cards/ledger-wire.ts';
import { CoreError, InvariantError } from './errors.ts';
import { GroupCommitter } from './group-commit.ts';
import { CustomerAttributes, journalKeyString } from './model.ts';
import type { Account, Device, JournalEntry, JournalKey, Transfer, Wallet } from './model.ts';
import type { LedgerStore, LedgerTx, WriteSet } from './store/ledger-store.ts';
import { defaultCoreLimits } from './core-options.ts';
import type { CoreLimits, CoreOptions, CoreStats, WalletRequestRefusal } from './core-options.ts';

export class SettlementCore {
  readonly store: LedgerStore;
  readonly limits: CoreLimits;
  private readonly clock: () => number;
  private readonly committer: GroupCommitter<Command>;
  private readonly clearing = new Map<string, string>();
  private readonly advancing = new Set<string>();
  private readonly cache: ReadCache;
  /** Derived wallet keys, so a busy wallet costs one HKDF, not one per tap. Bounded; oldest evicted first. */
  private readonly walletKeys = new Map<string, Buffer>();
  private readonly mintTicket: MintTicket | null;
  private readonly emoneyIssuer: EmoneyIssuer | null;
  /** Key id → public key of every issuer key a token may name (emoney/verify-keys.ts). */
  private readonly tokenKeys: ReadonlyMap<string, string>;
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
    this.mintTicket = options.ticketIssuer ? ticketMinter(options.ticketIssuer) : null;
    this.emoneyIssuer = options.ticketIssuer ?? null; // checked by ticketMinter just above
    this.tokenKeys = verificationKeys(this.emoneyIssuer, options.retiredIssuerKeys);
    this.clock = options.clock ?? Date.now;
    this.cache = new ReadCache(this.limits);
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
    if (!DeviceId.safeParse(deviceId).success) return Promise.resolve({ kind: 'unreadable', reason: 'malformed-id', message: 'the sender is not a device id' });
    const decoded = decodeMessage('settle', payload); // checks the size before anything else reads the body
    if (!decoded.ok && decoded.requestId === null) return Promise.resolve({ kind: 'unreadable', reason: decoded.reason, message: decoded.message });
    const raw = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    const parsed: ParsedSettle = decoded.ok
      ? { ok: true, deviceId, req: decoded.value, raw, fingerprint: requestFingerprint(decoded.value) }
      : { ok: false, deviceId, requestId: decoded.requestId!, reason: decoded.reason, raw, fingerprint: rawFingerprint(raw) };
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
  /** Opens many accounts in one transaction (an import); all or none. */
  openAccounts(inputs: readonly OpenAccountInput[]): Promise<Account[]> {
    return this.task(async (tx, now) => {
      const out: Account[] = [];
      for (const input of inputs) out.push(await admin.openAccount(tx, input, now));
      return out;
    });
  }
  fund(input: FundInput): Promise<Transfer | Omit<Transfer, 'id'>> {
    return this.task((tx, now) => admin.fund(tx, input, now));
  }
  /** Funds many accounts in one transaction; each is idempotent on its reference. */
  fundMany(inputs: readonly FundInput[]): Promise<void> {
    return this.task(async (tx, now) => {
      for (const input of inputs) await admin.fund(tx, input, now);
    });
  }
  registerDevice(input: { id: string; kind: Device['kind']; merchant: string; status?: Device['status'] }): Promise<Device> {
    if (!DeviceId.safeParse(input.id).success) return Promise.reject(new CoreError('TS_ERR_INVALID_ARGUMENT', `not a device id: ${JSON.stringify(input.id)}`));
    if (!DeviceKind.safeParse(input.kind).success) return Promise.reject(new CoreError('TS_ERR_INVALID_ARGUMENT', `device kind must be one of ${DeviceKind.options.join(', ')}`));
    return this.task((tx, now) => admin.registerDevice(tx, input, now));
  }
  /** Enrolls a phone wallet for a customer account. The wallet key is returned once, here; the core keeps no copy. */
  async enrollWallet(account: string): Promise<{ wallet: Wallet; walletKey: Buffer }> {
    const [enrolled] = await this.enrollWallets([account]);
    return enrolled!;
  }
  /** Enrolls one wallet per account, in one transaction. */
  async enrollWallets(accounts: readonly string[]): Promise<{ wallet: Wallet; walletKey: Buffer }[]> {
    const wallets = await this.task(async (tx, now) => {
      const out: Wallet[] = [];
      for (const account of accounts) out.push(await admin.enrollWallet(tx, account, now));
      return out;
    });
    return wallets.map((wallet) => ({ wallet, walletKey: deriveWalletKey(this.options.issuerMasterKey, wallet.id) }));
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

  /**
   * Checks a phone's proof on a wallet API request (claims 5–7: a wallet gets
   * its own statement and nobody else's) and consumes its counter, durably,
   * before the caller acts on it.
   */
  authenticateWalletRequest(input: WalletRequestInput & { mac: string }): Promise<{ ok: true; wallet: Wallet } | { ok: false; reason: WalletRequestRefusal }> {
    return this.task(async (tx) => {
      const wallet = (await tx.getWallets([input.walletId])).get(input.walletId);
      if (!wallet) return { ok: false as const, reason: 'unknown-wallet' as const };
      if (wallet.status !== 'active') return { ok: false as const, reason: 'wallet-not-active' as const };
      if (!verifyWalletRequestMac(this.walletKey(wallet.id), input, input.mac)) return { ok: false as const, reason: 'bad-cryptogram' as const };
      if (!(await tx.advanceWalletRequestCounter(wallet.id, input.counter))) return { ok: false as const, reason: 'counter-reused' as const };
      return { ok: true as const, wallet: { ...wallet, requestCounter: input.counter } };
    });
  }

  // ---- e-money (claims 34–35; settlement-core/emoney/) ------------------

  /** Claim 34: `wallet` (authenticated) demands issuance; one transaction debits its account, credits the float, mints the token. */
  issueEmoney(wallet: Wallet, body: EmoneyIssueBody): Promise<EmoneyReply<EmoneyIssueAnswer>> {
    const parsed = EmoneyIssueBody.safeParse(body);
    if (!parsed.success) return Promise.reject(new CoreError('TS_ERR_INVALID_ARGUMENT', `e-money issuance: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
    return this.task((tx, now) => decideIssue(tx, wallet, parsed.data, this.emoneyIssuer, now));
  }

  /** Claim 35: `wallet` (authenticated) hands tokens back; signatures are checked here, the ledger's records in the transaction. */
  depositEmoney(wallet: Wallet, body: EmoneyDepositBody): Promise<EmoneyReply<EmoneyDepositAnswer>> {
    const parsed = EmoneyDepositBody.safeParse(body);
    if (!parsed.success) return Promise.reject(new CoreError('TS_ERR_INVALID_ARGUMENT', `e-money deposit: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
    const signed = verifyTokens(parsed.data.tokens, this.tokenKeys);
    return this.task((tx, now) => decideDeposit(tx, wallet, parsed.data, signed, this.emoneyIssuer, now));
  }

  // ---- card sales (claim 36; settlement-core/cards/ledger.ts) ---------

  /** An approved card authorization becomes money: card receivable → merchant, once per authorizationId. */
  captureCardSale(input: CardSaleCapture): Promise<CardLedgerAnswer> {
    const parsed = parseCapture(input);
    if (!parsed.ok) return Promise.reject(parsed.error);
    return this.task((tx, now) => decideCapture(tx, parsed.value, now)).then(answerOf);
  }

  /** Undoes a captured card sale once (merchant → card receivable); recorded even when nothing was captured, so that capture is then refused. */
  reverseCardSale(input: CardSaleReversal): Promise<CardLedgerAnswer> {
    const parsed = parseReversal(input);
    if (!parsed.ok) return Promise.reject(parsed.error);
    return this.task((tx, now) => decideReversal(tx, parsed.value, now)).then(answerOf);
  }

  /** A store that audits itself (sharded) gets the card check added here; audit.ts runs it for the others. */
  async audit(): Promise<AuditReport> {
    if (!this.store.audit) return audit(this.store);
    const report = await this.store.audit();
    const cards = await auditCards(this.store);
    return { ...report, ok: report.ok && cards.ok, checks: [...report.checks, cards] };
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

  private submitAdvance(key: JournalKey, entry?: JournalEntry): void {
    const k = journalKeyString(key);
    if (this.advancing.has(k) || this.fatal || this.closed) return;
    try {
      this.committer.submit(entry ? { kind: 'advance', key, entry } : { kind: 'advance', key });
      this.advancing.add(k);
    } catch {
      // Queue full: the entry's dueAt is durable, the scheduler will find it again.
      this.stats.advanceDropped += 1;
    }
  }

  private walletKey = (walletId: string): Buffer => {
    let key = this.walletKeys.get(walletId);
    if (key === undefined) {
      key = deriveWalletKey(this.options.issuerMasterKey, walletId);
      if (this.walletKeys.size >= this.limits.walletKeyCacheMax) this.walletKeys.delete(this.walletKeys.keys().next().value!);
      this.walletKeys.set(walletId, key);
    }
    return key;
  };

  private get settleDeps(): SettleDeps {
    return { walletKey: this.walletKey, deviceKey: this.options.deviceKey, clearingFor: this.clearingFor, amountMinorMaxPerSettle: this.limits.amountMinorMaxPerSettle, mintTicket: this.mintTicket };
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
    const settle: (() => void)[] = [];
    let dueNow: JournalEntry[] = [];
    const started = performance.now();
    let epoch = 0;
    let written: WriteSet | null = null;
    try {
      await this.store.transaction(async (tx) => {
        settle.length = 0;
        epoch = await this.cache.begin(tx);
        if (batch.length === 1 && batch[0]!.kind === 'task') {
          const t = batch[0]!;
          const value = await t.run(tx, now);
          settle.push(() => t.resolve(value));
          return;
        }
        const b = await loadBatch(tx, this.cache, batch, this.clearing.values(), now);
        for (const c of batch) this.decide(b, c, settle);
        const writes = b.finish();
        dueNow = b.dueNow();
        await tx.apply(writes);
        written = writes;
      });
    } catch (err) {
      this.cache.clear();
      this.fail(batch, err);
      return;
    } finally {
      for (const c of batch) if (c.kind === 'advance') this.advancing.delete(journalKeyString(c.key));
    }
    if (written === null) this.cache.invalidate(epoch);
    else this.cache.committed(epoch, written);
    this.stats.batches += 1;
    this.stats.batchSizeLast = batch.length;
    this.options.onBatch?.({ size: batch.length, transactionMs: performance.now() - started });
    for (const s of settle) s();
    this.stats.settled += batch.filter((c) => c.kind === 'settle').length;
    for (const e of dueNow) this.submitAdvance({ deviceId: e.deviceId, requestId: e.requestId }, e);
  }

  private decide(b: BatchState, c: Command, settle: (() => void)[]): void {
    const deviceKey = this.options.deviceKey;
    switch (c.kind) {
      case 'settle': {
        const d = decideSettle(b, c.parsed, this.settleDeps);
        if (d.replay) this.stats.replays += 1;
        settle.push(() => c.resolve({ kind: 'result', ...d }));
        return;
      }
      case 'outcome': {
        const status = applyOutcome(b, c.outcome, this.clearingFor);
        const o = c.outcome;
        const ack = buildOutcomeAck(deviceKey(o.deviceId), { deviceId: o.deviceId, requestId: o.requestId, settleRequestId: o.settleRequestId, status }, b.now);
        settle.push(() => c.resolve({ kind: 'outcome-ack', ...ack }));
        return;
      }
      case 'cancel': {
        try {
          const status = cancelDeferred(b, c.key, c.walletId, this.clearingFor);
          settle.push(() => c.resolve({ status }));
        } catch (err) {
          if (!(err instanceof CoreError)) throw err;
          settle.push(() => c.reject(err));
        }
        return;
      }
      case 'advance':
        advance(b, c.key, this.clearingFor);
        return;
      case 'task':
        throw new InvariantError('a task was batched with other commands');
    }
  }

  private fail(batch: Command[], err: unknown): void {
    const error = err instanceof CoreError || err instanceof InvariantError || err instanceof EmoneyError ? err : new CoreError('TS_ERR_STORE', `store failure: ${(err as Error).message}`);
    for (const c of batch) if (c.kind !== 'advance') c.reject(error);
    if (error instanceof InvariantError) {
      this.fatal = error;
      if (this.options.onFatal) this.options.onFatal(error);
      else throw error;
    }
  }
}
