/**
 * The device's MQTT link (DESIGN §7): device credentials, optional TLS, a last
 * will (retained `offline`), a retained `online` state with health on every
 * connect, our own reconnect loop with jittered backoff (mqtt.js alone retries
 * every second, fixed), and the outbox pump. Answers are acted on only when
 * their tag verifies (answers.ts); an answer removes its entry from the outbox.
 *
 * Sessions are clean: after every connect the link resubscribes, then resends
 * every pending entry byte for byte. The core answers a resend with the stored
 * result, so nothing queued in a broker session is needed.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import pino from 'pino';
import type { Logger } from 'pino';
import { topics } from '../../protocol/index.ts';
import type { DeviceConfig, OutcomeAck, SettleResult } from '../../protocol/index.ts';
import { readAnswer } from './answers.ts';
import { Backoff } from './backoff.ts';
import { ConfigStore } from './config-store.ts';
import { RuntimeError, checkIntegerOption } from './errors.ts';
import { Outbox } from './outbox.ts';
import { linkDefaults } from './link-options.ts';
import type { DeviceLinkOptions, LinkEvents, LinkLimits, LinkStats } from './link-options.ts';
import { buildEvent, buildOutcome, buildSettle, buildState } from './bodies.ts';
import type { EventKind, OutcomeDraft, Presentation, SettleDraft } from './bodies.ts';
import { buildCardAuthorization, buildCardReversal, readCardAnswer } from './card-messages.ts';
import type { CardAnswer, CardDraft, CardReversalDraft } from './card-messages.ts';
import type { OutboxKind } from './outbox.ts';
import { outboxSeal } from './outbox-seal.ts';
import { Waiters, withinMs } from './waiters.ts';

/** Transitions within this window are published as one retained state. */
export const stateCoalesceMs = 50;

export class DeviceLink extends EventEmitter<LinkEvents> {
  readonly deviceId: string;
  readonly limits: Readonly<LinkLimits>;
  readonly outbox: Outbox;
  readonly stats: LinkStats = { connects: 0, published: 0, answered: 0, duplicates: 0, rejected: { malformed: 0, 'wrong-device': 0, 'bad-tag': 0 }, configsApplied: 0, configsIgnored: 0 };
  private readonly options: DeviceLinkOptions;
  private readonly key: Buffer;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly configs: ConfigStore;
  private readonly waiters = new Waiters();
  private readonly startedAt = Date.now();
  private client: MqttClient | null = null;
  private closed = false;
  private wakeLoop: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private resendTimer: NodeJS.Timeout | null = null;
  /** Per connection: when each entry was last published, and which await their PUBACK. */
  private lastSentMs = new Map<string, number>();
  private inFlight = new Set<string>();
  private fullReported = false;
  private presentation: Presentation = {};
  private faults: readonly string[] = [];
  private stateTimer: NodeJS.Timeout | null = null;

  static open(options: DeviceLinkOptions): DeviceLink {
    const link = new DeviceLink(options);
    link.loopDone = link.connectLoop();
    return link;
  }

  private constructor(options: DeviceLinkOptions) {
    super();
    topics.state(options.deviceId); // throws a RangeError naming a bad device id
    const l = { ...linkDefaults, ...options.limits };
    this.limits = {
      inFlightMax: checkIntegerOption('limits.inFlightMax', l.inFlightMax, 1, 1000),
      answerTimeoutMs: checkIntegerOption('limits.answerTimeoutMs', l.answerTimeoutMs, 1, 3_600_000),
      resendAfterMs: checkIntegerOption('limits.resendAfterMs', l.resendAfterMs, 100, 3_600_000),
      connectTimeoutMs: checkIntegerOption('limits.connectTimeoutMs', l.connectTimeoutMs, 100, 600_000),
      keepaliveSec: checkIntegerOption('limits.keepaliveSec', l.keepaliveSec, 1, 3600),
    };
    this.options = options;
    this.deviceId = options.deviceId;
    this.key = Buffer.from(options.secret, 'base64url');
    if (this.key.length < 16) throw new RuntimeError('TS_ERR_RUNTIME_BAD_OPTION', 'secret must be the device key in base64url (at least 16 bytes)');
    this.log = options.logger ?? pino({ level: 'silent' });
    this.backoff = new Backoff(options.backoff, options.random);
    this.outbox = Outbox.open({ path: join(options.dataDir, 'outbox.log'), seal: outboxSeal(this.key), ...(options.outbox ? { limits: options.outbox } : {}) });
    this.configs = new ConfigStore(join(options.dataDir, 'config.json'), this.outbox);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** The applied config, if any (restored from disk after a reboot). */
  get config(): DeviceConfig | null {
    return this.configs.current;
  }

  state(): { connected: boolean; outboxDepth: number; outboxMax: number; outboxFull: boolean; configVersion: number; stats: LinkStats } {
    return { connected: this.connected, outboxDepth: this.outbox.depth, outboxMax: this.outbox.limits.entriesMax, outboxFull: this.outbox.isFull, configVersion: this.outbox.configVersion, stats: this.stats };
  }

  /** Writes the request to the outbox (durable), publishes it, and waits for its verified result. A timeout leaves the entry pending. */
  settle(draft: SettleDraft, timeoutMs: number = this.limits.answerTimeoutMs): Promise<SettleResult> {
    const entry = this.append(draft.requestId, 'settle', (seq) => buildSettle(this.deviceId, draft, seq));
    return this.waiters.wait<SettleResult>(entry.id, timeoutMs);
  }

  /** As settle, for an outcome; resolves with its verified OutcomeAck. */
  outcome(draft: OutcomeDraft, timeoutMs: number = this.limits.answerTimeoutMs): Promise<OutcomeAck> {
    const built = buildOutcome(this.deviceId, draft);
    const entry = this.append(built.requestId, 'outcome', built.body);
    return this.waiters.wait<OutcomeAck>(entry.id, timeoutMs);
  }

  /**
   * Claim 36 at a device: writes the card authorization to the outbox (sealed
   * on disk), publishes it on the `card` channel and waits for its verified
   * card-result or card-error. Its entry stays pending until the host has
   * concluded the sale and calls withdraw(): one still pending after a
   * restart was never concluded. A timeout leaves it pending too: the host
   * waits again, or reverses (cardReversal) and withdraws it.
   */
  card(draft: CardDraft, timeoutMs: number = this.limits.answerTimeoutMs): Promise<CardAnswer> {
    const entry = this.append(draft.requestId, 'card', (seq) => buildCardAuthorization(this.deviceId, draft, seq));
    return this.waiters.wait<CardAnswer>(entry.id, timeoutMs);
  }

  /** Writes a card reversal to the outbox and publishes it; resolves with its verified ack (or a card-error). Its id is returned at once. */
  cardReversal(draft: CardReversalDraft, timeoutMs: number = this.limits.answerTimeoutMs): { requestId: string; answer: Promise<CardAnswer> } {
    const built = buildCardReversal(this.deviceId, draft);
    const entry = this.append(built.requestId, 'card-reversal', built.body);
    return { requestId: entry.id, answer: this.waiters.wait<CardAnswer>(entry.id, timeoutMs) };
  }

  /** Takes a pending entry out of the outbox without an answer (a card request the device has reversed): it is never resent. */
  withdraw(requestId: string): boolean {
    return this.outbox.remove(requestId);
  }

  /** Waits for the answer to an entry already pending (one restored from the outbox after a restart). */
  answer(requestId: string, timeoutMs: number = this.limits.answerTimeoutMs): Promise<SettleResult | OutcomeAck> {
    if (this.outbox.get(requestId) === undefined) return Promise.reject(new RangeError(`${requestId} is not pending`));
    return this.waiters.wait(requestId, timeoutMs);
  }

  /**
   * Claim 9: waits for the verified result (tag checked, as every answer) of
   * a settle this device did not send — the phone sends it through the wallet
   * API under a requestId the device chose. Nothing is written to the outbox.
   * Register before the phone is told the requestId: a result that comes
   * before anyone waits is only reported as 'unmatched-result'.
   */
  waitForResult(requestId: string, timeoutMs: number = this.limits.answerTimeoutMs): Promise<SettleResult> {
    if (this.outbox.get(requestId) !== undefined) return Promise.reject(new RangeError(`${requestId} is an outbox entry; use answer()`));
    return this.waiters.wait<SettleResult>(requestId, timeoutMs);
  }

  /**
   * What the retained state shows besides online/offline: the host's state
   * machine state, its parts, and faults that stop it selling. Publishes are
   * coalesced (`stateCoalesceMs`) so a burst of transitions costs one message.
   */
  present(presentation: Presentation, faults: readonly string[] = this.faults): void {
    this.presentation = presentation;
    this.faults = faults;
    if (this.stateTimer !== null || this.closed) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.publishState();
    }, stateCoalesceMs);
  }

  /** Telemetry (QoS 0, never queued): taps, door, tamper, errors, transitions. Dropped silently while offline, by design. */
  event(kind: EventKind, detail?: string): void {
    const client = this.client;
    if (client === null || !client.connected || this.closed) return;
    const body = buildEvent(this.deviceId, this.outbox.claimSeq(false), kind, detail);
    client.publish(topics.event(this.deviceId), body, { qos: 0 }, () => undefined);
  }

  private append(id: string, kind: OutboxKind, build: (seq: number) => string) {
    if (this.closed) throw new RuntimeError('TS_ERR_RUNTIME_CLOSED', 'link used after close()');
    const topic = kind === 'settle' ? topics.settle(this.deviceId) : kind === 'outcome' ? topics.outcome(this.deviceId) : topics.card(this.deviceId);
    const entry = this.outbox.append(id, kind, topic, build);
    this.pump();
    if (this.outbox.isFull) this.publishState();
    return entry;
  }

  private async connectLoop(): Promise<void> {
    while (!this.closed) {
      const client = await this.connectOnce();
      if (client !== null) {
        this.backoff.reset();
        await new Promise<void>((resolve) => client.once('close', () => resolve()));
        this.onDisconnected();
      }
      if (this.closed) return;
      const delayMs = this.backoff.nextDelayMs();
      this.log.info({ delayMs, attempt: this.backoff.attempts }, 'link down; reconnecting after backoff');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wakeLoop = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeLoop = null;
    }
  }

  private clientOptions(): IClientOptions {
    const tls = this.options.tls ?? {};
    // The will carries no seq: it may never be sent, and a seq claimed for it would look like a gap to the core.
    const will = buildState(this.deviceId, null, 'offline', this.options.kind, null);
    return {
      clientId: this.deviceId, username: this.deviceId, password: this.options.secret,
      protocolVersion: 4, clean: true, reconnectPeriod: 0,
      connectTimeout: this.limits.connectTimeoutMs, keepalive: this.limits.keepaliveSec,
      will: { topic: topics.state(this.deviceId), payload: Buffer.from(will), qos: 1, retain: true },
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    };
  }

  /** One attempt: connect, resubscribe, announce online, pump. Null when any step fails. */
  private async connectOnce(): Promise<MqttClient | null> {
    const client = mqtt.connect(this.options.url, this.clientOptions());
    client.on('error', (err) => this.log.warn({ err: err.message }, 'link error'));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.client = client;
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('close', () => reject(new Error('closed before CONNACK')));
        // close() must not wait for a handshake to a host that does not answer.
        this.wakeLoop = () => reject(new Error('link closed while connecting'));
      });
      this.wakeLoop = null;
      await client.subscribeAsync([topics.result(this.deviceId), topics.config(this.deviceId), topics['card-result'](this.deviceId)], { qos: 1 });
      if (this.closed || !client.connected) throw new Error('closed while subscribing');
    } catch (err) {
      this.wakeLoop = null;
      this.log.warn({ err: (err as Error).message }, 'connect attempt failed');
      client.end(true);
      if (this.client === client) this.client = null;
      return null;
    }
    this.stats.connects += 1;
    this.log.info({ connects: this.stats.connects, pending: this.outbox.depth }, 'link up');
    this.publishState();
    this.resendTimer = setInterval(() => this.pump(), Math.max(100, Math.floor(this.limits.resendAfterMs / 4)));
    this.emit('connected');
    this.pump();
    return client;
  }

  private onDisconnected(): void {
    if (this.resendTimer !== null) clearInterval(this.resendTimer);
    this.resendTimer = null;
    this.lastSentMs = new Map();
    this.inFlight = new Set();
    this.client = null;
    this.emit('disconnected');
  }

  /** Publishes pending entries not yet sent on this connection (or unanswered for resendAfterMs), oldest first, at most inFlightMax unacknowledged. */
  private pump(): void {
    const client = this.client;
    if (client === null || !client.connected) return;
    const now = Date.now();
    // Callbacks of an earlier connection must not touch this one's window.
    const inFlight = this.inFlight;
    for (const entry of this.outbox.pending()) {
      if (inFlight.size >= this.limits.inFlightMax) return;
      const last = this.lastSentMs.get(entry.id);
      if (inFlight.has(entry.id) || (last !== undefined && now - last < this.limits.resendAfterMs)) continue;
      inFlight.add(entry.id);
      this.lastSentMs.set(entry.id, now);
      client.publish(entry.topic, entry.body, { qos: 1 }, (err) => {
        inFlight.delete(entry.id);
        if (err) this.log.warn({ err: err.message, requestId: entry.id }, 'publish failed; resent after reconnect');
        else {
          this.stats.published += 1;
          this.emit('published', { id: entry.id, body: entry.body });
        }
        this.pump();
      });
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === topics.config(this.deviceId)) {
      const applied = this.configs.offer(payload, this.deviceId);
      if (applied === null) this.stats.configsIgnored += 1;
      else {
        this.stats.configsApplied += 1;
        this.emit('config', applied);
      }
      return;
    }
    if (topic === topics['card-result'](this.deviceId)) {
      this.onCardAnswer(payload);
      return;
    }
    const answer = readAnswer(payload, this.deviceId, this.key);
    if (!answer.ok) {
      this.stats.rejected[answer.why] += 1;
      this.log.warn({ why: answer.why, detail: answer.detail }, 'answer dropped, not acted on');
      return;
    }
    const id = answer.value.requestId;
    const entry = this.outbox.get(id);
    if (entry === undefined && answer.kind === 'result') {
      this.onResultWithoutEntry(answer.value);
      return;
    }
    if (entry === undefined || entry.kind !== (answer.kind === 'result' ? 'settle' : 'outcome')) {
      this.stats.duplicates += 1;
      return;
    }
    this.outbox.remove(id);
    this.stats.answered += 1;
    this.log.info({ requestId: id, kind: answer.kind, status: answer.value.status }, 'answer verified; entry cleared');
    if (answer.kind === 'result') this.emit('result', answer.value);
    else this.emit('outcome-ack', answer.value);
    this.waiters.settle(id, answer.value);
    if (this.fullReported && !this.outbox.isFull) this.publishState();
  }

  /** A verified result with no outbox entry: to whoever waits for it (claim 9), else reported as unmatched. */
  private onResultWithoutEntry(result: SettleResult): void {
    if (this.waiters.has(result.requestId)) {
      this.stats.answered += 1;
      this.log.info({ requestId: result.requestId, status: result.status }, 'awaited result verified (sent by the phone)');
      this.emit('result', result);
      this.waiters.settle(result.requestId, result);
      return;
    }
    this.stats.duplicates += 1;
    this.emit('unmatched-result', result);
  }

  /**
   * A verified card answer for a pending entry wakes its waiter (a card-error
   * names either kind); a reversal's entry is cleared here, a card request's
   * by the host once it has concluded the sale. Anything else is reported unmatched.
   */
  private onCardAnswer(payload: Buffer): void {
    const read = readCardAnswer(payload, this.deviceId, this.key);
    if (!read.ok) {
      this.stats.rejected[read.why] += 1;
      this.log.warn({ why: read.why, detail: read.detail }, 'card answer dropped, not acted on');
      return;
    }
    const { ok: _ok, ...answer } = read;
    const id = answer.value.requestId;
    const entry = id === undefined ? undefined : this.outbox.get(id);
    const expected = answer.kind === 'card-result' ? 'card' : answer.kind === 'card-reversal-ack' ? 'card-reversal' : entry?.kind;
    if (id === undefined || entry === undefined || entry.kind !== expected || (expected !== 'card' && expected !== 'card-reversal')) {
      this.stats.duplicates += 1;
      this.emit('unmatched-card-answer', answer);
      return;
    }
    if (entry.kind === 'card-reversal') this.outbox.remove(id);
    this.stats.answered += 1;
    this.log.info({ requestId: id, kind: answer.kind }, 'card answer verified');
    this.emit('card-answer', answer);
    this.waiters.settle(id, answer);
    if (this.fullReported && !this.outbox.isFull) this.publishState();
  }

  /** Retained online state with health; on connect and whenever the outbox fills or drains. */
  private publishState(): void {
    const client = this.client;
    if (client === null || !client.connected) return;
    this.fullReported = this.outbox.isFull;
    const faults = [...(this.outbox.isFull ? ['outbox-full'] : []), ...this.faults].slice(0, 32);
    const health = { uptimeSec: Math.floor((Date.now() - this.startedAt) / 1000), outboxDepth: this.outbox.depth, outboxMax: this.outbox.limits.entriesMax, configVersion: this.outbox.configVersion, faults };
    const body = buildState(this.deviceId, this.outbox.claimSeq(false), faults.length > 0 ? 'out-of-service' : 'online', this.options.kind, health, this.presentation);
    client.publish(topics.state(this.deviceId), body, { qos: 1, retain: true }, (err) => {
      if (err) this.log.warn({ err: err.message }, 'state publish failed');
    });
  }

  /** Clean shutdown: retained offline state, DISCONNECT, outbox closed. Pending entries stay on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.stateTimer !== null) clearTimeout(this.stateTimer);
    const client = this.client;
    if (client?.connected === true) {
      const body = buildState(this.deviceId, this.outbox.claimSeq(), 'offline', this.options.kind, null);
      // Bounded: a broker that stopped answering must not hold up a shutdown.
      await withinMs(client.publishAsync(topics.state(this.deviceId), body, { qos: 1, retain: true }), this.limits.connectTimeoutMs);
      await withinMs(client.endAsync(), this.limits.connectTimeoutMs);
      client.end(true);
    } else client?.end(true);
    await this.shutdown();
  }

  /** A crash, for tests and the watchdog: the socket is destroyed without DISCONNECT, so the broker publishes the last will. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.stateTimer !== null) clearTimeout(this.stateTimer);
    this.client?.stream.destroy();
    this.client?.end(true);
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.wakeLoop?.();
    await this.loopDone;
    this.waiters.rejectAll(new RuntimeError('TS_ERR_RUNTIME_CLOSED', 'link closed; the entry stays in the outbox'));
    this.outbox.close();
  }
}
