/**
 * The gateway's Prometheus metrics (issue 3, item 5). One registry per
 * GatewayMetrics, never prom-client's global one: two gateways (or two tests)
 * in one process must not see each other's counts.
 *
 * Who feeds what:
 * - the broker: `setConnections(fn)`, `aclBreach(action)`, `rejectedMessage(reason)`;
 * - the settlement bridge and the wallet API: `observeSettle(...)`;
 * - the core: `observeBatch` as its `CoreOptions.onBatch`; `watchCore(core)` for the backlog;
 * - the HTTP server: `watchStreams(fn)` for open SSE streams;
 * - the settlement bridge's seq tracker: `watchSequences(tracker)` (totals at
 *   scrape; the admin view reads each device's record through `deviceSequence`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { reasonCodes } from '../protocol/index.ts';
import { finalStates, journalStates } from '../settlement-core/index.ts';
import type { SettlementCore } from '../settlement-core/index.ts';
import type { DeviceSequenceView, SequenceTotals } from './bridge/sequence-tracker.ts';

/** Per-device seq tracking (the bridge's SequenceTracker). */
export interface SequenceSource {
  totals(): SequenceTotals;
  view(deviceId: string): DeviceSequenceView | undefined;
}

export interface MetricsOptions {
  /** Open device connections, from the broker; may also be set later with setConnections. */
  connections?: () => number;
  /** Also export process metrics (CPU, memory, event loop lag) with the `tapsettle_` prefix. Default true. */
  defaultMetrics?: boolean;
  /** How long a journal backlog count is reused, ms: a scrape must not turn into a table scan per second. */
  backlogCacheMs?: number;
}

/** 5 s: Prometheus scrapes every 15–60 s; several dashboards scraping at once then cost one count. */
export const backlogCacheMsDefault = 5000;

export type SettleOutcome = 'approved' | 'declined' | 'unreadable';
export type AclAction = 'connect' | 'publish' | 'subscribe';

/** Non-final journal states: the backlog the engine still has to drive forward. */
const backlogStates = journalStates.filter((s) => !finalStates.has(s));
const knownReasons: ReadonlySet<string> = new Set(reasonCodes);
const emptyTotals: SequenceTotals = { devices: 0, gaps: 0, missing: 0, outOfOrder: 0, duplicates: 0, resends: 0, unsequenced: 0, evicted: 0 };
/** Any reason outside the protocol's codes is counted as this, so a label's values stay a small fixed set. */
const otherReason = 'other';

export const metricNames = {
  connections: 'tapsettle_connections',
  settles: 'tapsettle_settles_total',
  settleSeconds: 'tapsettle_settle_duration_seconds',
  batchSize: 'tapsettle_batch_size',
  batchSeconds: 'tapsettle_batch_transaction_seconds',
  backlog: 'tapsettle_journal_backlog',
  queueDepth: 'tapsettle_core_queue_depth',
  aclBreaches: 'tapsettle_acl_breaches_total',
  rejected: 'tapsettle_rejected_messages_total',
  streams: 'tapsettle_result_streams',
  seqDevices: 'tapsettle_device_seq_tracked_devices',
  seqGaps: 'tapsettle_device_seq_gaps_total',
  seqMissing: 'tapsettle_device_seq_missing',
  seqOutOfOrder: 'tapsettle_device_seq_out_of_order_total',
  seqDuplicates: 'tapsettle_device_seq_duplicates_total',
  seqResends: 'tapsettle_device_seq_resends_total',
  seqUnsequenced: 'tapsettle_device_seq_unsequenced_total',
} as const;

export class GatewayMetrics {
  readonly registry = new Registry();
  private connections: (() => number) | null;
  private streams: (() => number) | null = null;
  private sequences: SequenceSource | null = null;
  private core: SettlementCore | null = null;
  private backlogCache: { at: number; counts: Record<string, number> } | null = null;
  private readonly backlogCacheMs: number;
  private readonly settles: Counter<'status' | 'reason'>;
  private readonly settleSeconds: Histogram;
  private readonly batchSize: Histogram;
  private readonly batchSeconds: Histogram;
  private readonly aclBreaches: Counter<'action'>;
  private readonly rejected: Counter<'reason'>;

  constructor(options: MetricsOptions = {}) {
    this.connections = options.connections ?? null;
    this.backlogCacheMs = options.backlogCacheMs ?? backlogCacheMsDefault;
    if (!Number.isSafeInteger(this.backlogCacheMs) || this.backlogCacheMs < 0) throw new RangeError(`backlogCacheMs must be an integer ≥ 0, got ${options.backlogCacheMs}`);
    const registers = [this.registry];
    const connections: Gauge = new Gauge({ name: metricNames.connections, help: 'Open device connections to the broker', registers, collect: (): void => connections.set(this.connections?.() ?? 0) });
    const streams: Gauge = new Gauge({ name: metricNames.streams, help: 'Open result streams (SSE) to phones', registers, collect: (): void => streams.set(this.streams?.() ?? 0) });
    const queueDepth: Gauge = new Gauge({ name: metricNames.queueDepth, help: 'Commands waiting in the core\'s group-commit queue', registers, collect: (): void => queueDepth.set(this.core?.queueDepth ?? 0) });
    const backlog: Gauge<'state'> = new Gauge({
      name: metricNames.backlog, help: 'Journal entries not yet in a final state, by state', labelNames: ['state'], registers,
      collect: async (): Promise<void> => {
        const counts = await this.backlogCounts();
        for (const state of backlogStates) backlog.set({ state }, counts[state] ?? 0);
      },
    });
    this.settles = new Counter({ name: metricNames.settles, help: 'Settle requests answered, by status and reason (reason "none" when approved)', labelNames: ['status', 'reason'], registers });
    // From a cached-account settle (~0.5 ms with group commit) to an overloaded queue (seconds).
    this.settleSeconds = new Histogram({ name: metricNames.settleSeconds, help: 'Time from receiving a settle request to its durable answer', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.batchSize = new Histogram({ name: metricNames.batchSize, help: 'Commands per group-commit batch', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000], registers });
    this.batchSeconds = new Histogram({ name: metricNames.batchSeconds, help: 'Duration of a group-commit batch\'s transaction', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers });
    this.aclBreaches = new Counter({ name: metricNames.aclBreaches, help: 'Connections, publishes and subscriptions the broker refused', labelNames: ['action'], registers });
    this.rejected = new Counter({ name: metricNames.rejected, help: 'Messages dropped unanswered or refused, by reason code', labelNames: ['reason'], registers });
    this.sequenceMetrics(registers);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'tapsettle_' });
  }

  /** Pass as `CoreOptions.onBatch`. */
  readonly observeBatch = (info: { size: number; transactionMs: number }): void => {
    this.batchSize.observe(info.size);
    this.batchSeconds.observe(info.transactionMs / 1000);
  };

  observeSettle(status: SettleOutcome, reason: string | undefined, seconds: number): void {
    this.settles.inc({ status, reason: reason === undefined ? 'none' : knownReasons.has(reason) ? reason : otherReason });
    this.settleSeconds.observe(seconds);
  }

  aclBreach(action: AclAction): void {
    this.aclBreaches.inc({ action });
  }

  rejectedMessage(reason: string): void {
    this.rejected.inc({ reason: knownReasons.has(reason) ? reason : otherReason });
  }

  setConnections(fn: () => number): void {
    this.connections = fn;
  }

  watchStreams(fn: () => number): void {
    this.streams = fn;
  }

  /** The per-device seq counts come from this tracker (the settlement bridge's). */
  watchSequences(source: SequenceSource): void {
    this.sequences = source;
  }

  /** One device's seq record, for the admin view; undefined before its first sequenced message. */
  deviceSequence(deviceId: string): DeviceSequenceView | undefined {
    return this.sequences?.view(deviceId);
  }

  /** The tracker's totals, read at scrape: counters are set to them (they only grow), gauges too. No per-device label: 10,000 devices. */
  private sequenceMetrics(registers: Registry[]): void {
    const totals = (): SequenceTotals | null => this.sequences?.totals() ?? null;
    const gauge = (name: string, help: string, pick: (t: SequenceTotals) => number): void => {
      const g: Gauge = new Gauge({ name, help, registers, collect: (): void => g.set(pick(totals() ?? emptyTotals)) });
    };
    const counter = (name: string, help: string, pick: (t: SequenceTotals) => number): void => {
      const c: Counter = new Counter({
        name, help, registers,
        collect: (): void => {
          c.reset();
          c.inc(pick(totals() ?? emptyTotals));
        },
      });
    };
    gauge(metricNames.seqDevices, 'Devices whose seq is tracked since the gateway started', (t) => t.devices);
    counter(metricNames.seqGaps, 'Seq numbers devices skipped (all devices)', (t) => t.gaps);
    gauge(metricNames.seqMissing, 'Skipped seq numbers that have not arrived (all devices)', (t) => t.missing);
    counter(metricNames.seqOutOfOrder, 'Seq numbers that arrived after a higher one (all devices)', (t) => t.outOfOrder);
    counter(metricNames.seqDuplicates, 'Messages whose seq was already used by another message, or too old to tell (all devices)', (t) => t.duplicates);
    counter(metricNames.seqResends, 'Resends of a message already seen with the same seq (all devices)', (t) => t.resends);
    counter(metricNames.seqUnsequenced, 'Messages without a seq, such as last wills (all devices)', (t) => t.unsequenced);
  }

  /** The journal backlog and queue depth come from this core. */
  watchCore(core: SettlementCore): void {
    this.core = core;
    this.backlogCache = null;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  private async backlogCounts(): Promise<Record<string, number>> {
    if (this.core === null) return {};
    const now = Date.now();
    if (this.backlogCache !== null && now - this.backlogCache.at < this.backlogCacheMs) return this.backlogCache.counts;
    try {
      const counts = await this.core.store.countJournalByState();
      this.backlogCache = { at: now, counts };
      return counts;
    } catch {
      // A closed or failing store must not break the scrape; /readyz reports it.
      return this.backlogCache?.counts ?? {};
    }
  }
}
