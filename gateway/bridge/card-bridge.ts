/**
 * The card bridge (claim 36 at a device, issue 7): takes what authenticated
 * devices publish on their `card` topic — a card authorization (card data a
 * device read from the phone with GET CARD) or a card reversal — hands it to
 * the card processing apparatus, and publishes the tagged answer on the
 * device's `card-result` topic (QoS 1, never retained).
 *
 * - The merchant is the device's registered one (the ledger's device table),
 *   never anything in the body.
 * - Idempotent by requestId: the processor answers a redelivery from its log,
 *   and the answer is rendered the same way every time (sentAt is the
 *   decision's time), so the device gets the same bytes.
 * - Nothing is answered before it is durable: when the processor is busy or
 *   its log cannot be written, nothing is published and the device resends.
 * - A body that cannot be taken gets a tagged CardErrorNotice with a TS_ERR_
 *   code (and the requestId when it could be read), a warning in the log
 *   and a count; nothing else happens.
 * - Card data goes to the processor and nowhere else: log lines carry the
 *   device, the requestId and codes; refusals name fields, never values.
 */
import { cardErrorTag, cardResultTag, cardReversalAckTag, decodeCardMessage } from '../../protocol/card-messages.ts';
import type { CardAuthorizationRequest, CardErrorCode, CardErrorNotice, CardReversalAck, CardReversalRequest, DeviceCardResult } from '../../protocol/card-messages.ts';
import { limits as protocolLimits, topics } from '../../protocol/index.ts';
import { scrubDigits } from '../../settlement-core/cards/index.ts';
import type { CardProcessor } from '../cards/card-processor.ts';
import type { CardAuthorizationResult, CardReversalResult } from '../cards/schemas.ts';
import type { BridgeLogger } from './settlement-bridge.ts';

export interface CardBridgeLimits {
  /**
   * Card messages worked on at once, over all devices. The issuer client's
   * own line (16 at the issuer, 512 waiting) is the real bound on work; this
   * bounds the bridge's memory above it. Past it a message is not taken and
   * the device resends it from its outbox.
   */
  inFlightMax: number;
  /** Per device: a terminal has one sale at a time, plus its reversals and resends; more is a device gone wrong. */
  perDeviceInFlightMax: number;
}

export const defaultCardBridgeLimits: CardBridgeLimits = { inFlightMax: 1024, perDeviceInFlightMax: 8 };

export interface CardBridgeBroker {
  onMessage(channel: 'card', handler: (deviceId: string, payload: Buffer) => void): () => void;
  publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
}

/** What the bridge needs to know of a device: the merchant it sells for, from the ledger. */
export interface CardDevice {
  merchant: string;
  status: string;
}

export type CardBridgeEvent =
  | { kind: 'authorization'; code: string; source: 'issuer' | 'gateway' }
  | { kind: 'reversal'; status: CardReversalResult['status'] }
  | { kind: 'refused'; code: CardErrorCode }
  | { kind: 'overloaded' }
  | { kind: 'failed' };

export interface CardBridgeOptions {
  broker: CardBridgeBroker;
  /** Null when this gateway has no `cards:` section: every card message is refused TS_ERR_CARD_UNAVAILABLE. */
  processor: CardProcessor | null;
  device: (deviceId: string) => Promise<CardDevice | null>;
  /** The key the device checks its answers with. */
  deviceKey: (deviceId: string) => Uint8Array;
  log: BridgeLogger;
  limits?: Partial<CardBridgeLimits>;
  observe?: (event: CardBridgeEvent) => void;
  clock?: () => number;
}

export interface CardBridgeStats {
  authorizations: number;
  reversals: number;
  refused: number;
  overloaded: number;
  failures: number;
}

export class CardBridge {
  readonly limits: CardBridgeLimits;
  readonly stats: CardBridgeStats = { authorizations: 0, reversals: 0, refused: 0, overloaded: 0, failures: 0 };
  private readonly clock: () => number;
  private inFlight = 0;
  private readonly perDevice = new Map<string, number>();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: CardBridgeOptions) {
    this.limits = { ...defaultCardBridgeLimits, ...options.limits };
    for (const [name, value] of Object.entries(this.limits)) if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`card bridge limit ${name} must be an integer ≥ 1, got ${String(value)}`);
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    this.unsubscribe ??= this.options.broker.onMessage('card', (deviceId, payload) => void this.onCard(deviceId, payload));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Card messages being worked on now. */
  get pending(): number {
    return this.inFlight;
  }

  private async onCard(deviceId: string, payload: Buffer): Promise<void> {
    const mine = this.perDevice.get(deviceId) ?? 0;
    if (this.inFlight >= this.limits.inFlightMax || mine >= this.limits.perDeviceInFlightMax) {
      this.stats.overloaded += 1;
      this.options.log.warn({ deviceId, inFlight: this.inFlight, deviceInFlight: mine }, 'card message not taken: too many in flight; the device resends it');
      this.options.observe?.({ kind: 'overloaded' });
      return;
    }
    this.inFlight += 1;
    this.perDevice.set(deviceId, mine + 1);
    try {
      await this.handle(deviceId, payload);
    } catch (err) {
      this.stats.failures += 1;
      this.options.log.error({ deviceId, err: errorText(err) }, 'card message not answered; the device resends it');
      this.options.observe?.({ kind: 'failed' });
    } finally {
      this.inFlight -= 1;
      const left = (this.perDevice.get(deviceId) ?? 1) - 1;
      if (left > 0) this.perDevice.set(deviceId, left);
      else this.perDevice.delete(deviceId);
    }
  }

  private async handle(deviceId: string, payload: Buffer): Promise<void> {
    const decoded = decodeCardMessage(payload);
    if (!decoded.ok) return this.refuse(deviceId, decoded.requestId, decoded.code, decoded.detail);
    const message = decoded.value;
    if (message.deviceId !== deviceId) return this.refuse(deviceId, message.requestId, 'TS_ERR_DEVICE_MISMATCH', 'deviceId: not the device that sent it');
    const processor = this.options.processor;
    if (processor === null) return this.refuse(deviceId, message.requestId, 'TS_ERR_CARD_UNAVAILABLE', 'card payments are not configured on this gateway');
    const device = await this.options.device(deviceId);
    if (device === null) return this.refuse(deviceId, message.requestId, 'TS_ERR_UNKNOWN_DEVICE', 'the device is not registered with the ledger');
    if (device.status !== 'active') return this.refuse(deviceId, message.requestId, 'TS_ERR_DEVICE_NOT_ACTIVE', 'the device is revoked');
    if (message.type === 'card-authorization') return this.authorize(processor, deviceId, device.merchant, message);
    return this.reverse(processor, deviceId, message);
  }

  private async authorize(processor: CardProcessor, deviceId: string, merchant: string, m: CardAuthorizationRequest): Promise<void> {
    const reply = await processor.authorize({ kind: 'device', id: deviceId }, {
      authorizationId: m.requestId, card: m.card, ...(m.pin !== undefined ? { pin: m.pin } : {}), amount: m.amount, merchant, mcc: m.mcc,
    });
    if (reply.kind === 'mismatch') return this.refuse(deviceId, m.requestId, 'TS_ERR_CARD_DUPLICATE_MISMATCH', 'this requestId was already used with other content; a new tap needs a new id');
    if (reply.kind === 'busy') {
      this.stats.overloaded += 1;
      this.options.log.warn({ deviceId, requestId: m.requestId }, 'card authorization not taken: the issuer line is full; the device resends it');
      this.options.observe?.({ kind: 'overloaded' });
      return;
    }
    this.stats.authorizations += 1;
    await this.publish(deviceId, deviceCardResult(this.options.deviceKey(deviceId), deviceId, reply.result));
    this.options.observe?.({ kind: 'authorization', code: reply.result.responseCode, source: reply.result.source });
  }

  private async reverse(processor: CardProcessor, deviceId: string, m: CardReversalRequest): Promise<void> {
    const reply = await processor.reverse({ kind: 'device', id: deviceId }, m.authorizationId, m.reason, false);
    if (reply.kind === 'mismatch') return this.refuse(deviceId, m.requestId, 'TS_ERR_CARD_DUPLICATE_MISMATCH', 'authorizationId: the authorization of another device');
    this.stats.reversals += 1;
    await this.publish(deviceId, cardReversalAck(this.options.deviceKey(deviceId), deviceId, m.requestId, reply.result));
    this.options.observe?.({ kind: 'reversal', status: reply.result.status });
  }

  private async refuse(deviceId: string, requestId: string | null, code: CardErrorCode, detail: string): Promise<void> {
    this.stats.refused += 1;
    this.options.log.warn({ deviceId, requestId, code, detail }, 'card message refused');
    this.options.observe?.({ kind: 'refused', code });
    await this.publish(deviceId, cardErrorNotice(this.options.deviceKey(deviceId), deviceId, requestId, code, detail, this.clock()));
  }

  private publish(deviceId: string, body: object): Promise<void> {
    return this.options.broker.publish(topics['card-result'](deviceId), JSON.stringify(body), { qos: 1, retain: false });
  }
}

/** An error's code and message for a log line, digits scrubbed. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return 'error';
  const code = (err as { code?: unknown }).code;
  return scrubDigits(`${typeof code === 'string' ? code : err.name}: ${err.message}`).slice(0, 300);
}

/** The device's view of a decision: the same bytes for the same decision (sentAt is when it was decided). */
export function deviceCardResult(deviceKey: Uint8Array, deviceId: string, r: CardAuthorizationResult): DeviceCardResult {
  const fields = {
    v: protocolLimits.protocolVersion, type: 'card-result' as const, requestId: r.authorizationId, sentAt: r.decidedAt, deviceId,
    responseCode: r.responseCode, responseText: r.responseText, approved: r.approved, approvalCode: r.approvalCode,
    card: { last4: r.card.last4, masked: r.card.masked }, amount: r.amount, source: r.source,
    ...(r.gatewayReason !== undefined ? { gatewayReason: r.gatewayReason } : {}),
  };
  return { ...fields, tag: cardResultTag(deviceKey, fields) };
}

export function cardReversalAck(deviceKey: Uint8Array, deviceId: string, requestId: string, r: CardReversalResult): CardReversalAck {
  const fields = {
    v: protocolLimits.protocolVersion, type: 'card-reversal-ack' as const, requestId, sentAt: r.reversedAt ?? r.requestedAt, deviceId, authorizationId: r.authorizationId, status: r.status,
  };
  return { ...fields, tag: cardReversalAckTag(deviceKey, fields) };
}

export function cardErrorNotice(deviceKey: Uint8Array, deviceId: string, requestId: string | null, code: CardErrorCode, detail: string, now: number): CardErrorNotice {
  const fields = {
    v: protocolLimits.protocolVersion, type: 'card-error' as const, ...(requestId !== null ? { requestId } : {}), sentAt: now, deviceId, code,
    detail: scrubDigits(detail).slice(0, protocolLimits.detailLengthMax),
  };
  return { ...fields, tag: cardErrorTag(deviceKey, fields) };
}
