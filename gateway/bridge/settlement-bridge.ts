/**
 * The settlement bridge (DESIGN §2, issue 3 item 3): takes `settle` and
 * `outcome` messages that authenticated devices published, hands them to the
 * core, and publishes the core's tagged answer on the device's `result`
 * topic (QoS 1). Claim 12: the result of a settlement also goes to the phone
 * that authorised it, through the wallet API's result stream.
 *
 * The bridge never acts on a message before the core has made its decision
 * durable; the core answers redeliveries from the journal, so a device that
 * heard nothing simply publishes the same request again.
 *
 * It also watches every device's `seq` (settle, outcome, state, event, card) in
 * arrival order, for gaps, duplicates and resends (sequence-tracker.ts).
 */
import { topics } from '../../protocol/index.ts';
import type { SettleResult } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { SequenceTracker, sequenceFields } from './sequence-tracker.ts';
import type { SequenceLimits } from './sequence-tracker.ts';

/** The channels on which devices send seq-numbered bodies (card bodies are answered by the card bridge; their seqs are watched here). */
const sequencedChannels = ['settle', 'outcome', 'state', 'event', 'card'] as const;
type SequencedChannel = (typeof sequencedChannels)[number];

/** What the bridge needs of the broker. */
export interface BridgeBroker {
  onMessage(channel: SequencedChannel, handler: (deviceId: string, payload: Buffer) => void): () => void;
  publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
}

/** Where results for phones go (claim 12); it decides which results concern the wallet. */
export interface WalletResultSink {
  publish(walletId: string, resultJson: string, result: SettleResult): void;
}

export interface BridgeLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BridgeStats {
  settles: number;
  outcomes: number;
  /** Bodies without a readable request id (or otherwise unkeyable): dropped, counted. */
  dropped: number;
  /** The core's queue was full: the device will resend with the same request id. */
  overloaded: number;
  failures: number;
}

export interface BridgeOptions {
  core: SettlementCore;
  broker: BridgeBroker;
  wallets?: WalletResultSink;
  log: BridgeLogger;
  /** Told of every answer: `status` is approved/declined/outcome-ack status, or `dropped`. */
  observe?: (event: { channel: 'settle' | 'outcome'; status: string; reason?: string; ms: number }) => void;
  /** Bounds of the per-device seq tracking. */
  sequenceLimits?: Partial<SequenceLimits>;
}

export class SettlementBridge {
  readonly stats: BridgeStats = { settles: 0, outcomes: 0, dropped: 0, overloaded: 0, failures: 0 };
  /** Per-device seq tracking since this bridge started (the baseline after a gateway restart). */
  readonly sequences: SequenceTracker;
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly options: BridgeOptions) {
    this.sequences = new SequenceTracker(options.sequenceLimits);
  }

  start(): void {
    const { broker } = this.options;
    // Seqs are looked at first, synchronously, so they are judged in the order the broker delivered them.
    const tracked = (handle: (deviceId: string, payload: Buffer) => void) => (deviceId: string, payload: Buffer) => {
      const { seq, requestId } = sequenceFields(payload);
      this.sequences.observe(deviceId, seq, requestId);
      handle(deviceId, payload);
    };
    const ignore = (): void => undefined;
    const handlers: Record<SequencedChannel, (deviceId: string, payload: Buffer) => void> = {
      settle: (deviceId, payload) => void this.onSettle(deviceId, payload),
      outcome: (deviceId, payload) => void this.onOutcome(deviceId, payload),
      state: ignore,
      event: ignore,
      card: ignore,
    };
    for (const channel of sequencedChannels) this.unsubscribe.push(broker.onMessage(channel, tracked(handlers[channel])));
  }

  stop(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  private async onSettle(deviceId: string, payload: Buffer): Promise<void> {
    const started = performance.now();
    try {
      const reply = await this.options.core.settle(deviceId, payload);
      if (reply.kind === 'unreadable') {
        this.stats.dropped += 1;
        this.options.log.warn({ deviceId, reason: reply.reason, detail: reply.message }, 'settle message dropped: no request id to answer');
        this.options.observe?.({ channel: 'settle', status: 'dropped', reason: reply.reason, ms: performance.now() - started });
        return;
      }
      this.stats.settles += 1;
      await this.options.broker.publish(topics.result(deviceId), reply.json, { qos: 1, retain: false });
      if (reply.walletId !== null) this.options.wallets?.publish(reply.walletId, reply.json, reply.result);
      this.options.observe?.({ channel: 'settle', status: reply.result.status, ...(reply.result.reason ? { reason: reply.result.reason } : {}), ms: performance.now() - started });
    } catch (err) {
      this.failed(err, deviceId, 'settle');
    }
  }

  private async onOutcome(deviceId: string, payload: Buffer): Promise<void> {
    const started = performance.now();
    try {
      const reply = await this.options.core.outcome(deviceId, payload);
      if (reply.kind === 'unreadable') {
        this.stats.dropped += 1;
        this.options.log.warn({ deviceId, reason: reply.reason, detail: reply.message }, 'outcome message dropped');
        this.options.observe?.({ channel: 'outcome', status: 'dropped', reason: reply.reason, ms: performance.now() - started });
        return;
      }
      this.stats.outcomes += 1;
      await this.options.broker.publish(topics.result(deviceId), reply.json, { qos: 1, retain: false });
      this.options.observe?.({ channel: 'outcome', status: reply.ack.status, ms: performance.now() - started });
    } catch (err) {
      this.failed(err, deviceId, 'outcome');
    }
  }

  private failed(err: unknown, deviceId: string, channel: string): void {
    const code = (err as { code?: unknown }).code;
    if (code === 'TS_ERR_OVERLOADED') {
      this.stats.overloaded += 1;
      this.options.log.warn({ deviceId, channel }, 'core queue full; the device will resend');
      return;
    }
    this.stats.failures += 1;
    this.options.log.error({ deviceId, channel, err: err instanceof Error ? { message: err.message, code } : String(err) }, 'could not settle');
  }
}
