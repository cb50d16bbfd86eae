/**
 * What the broker hands the dashboard, kept raw until someone looks. A busy
 * gateway publishes thousands of results a second; decoding each with the
 * protocol's schema costs ~13 µs. Instead each message is put in a bounded
 * list as it arrived (a push, no parsing), and decoded only when the feed
 * flushes to an open stream or builds a snapshot. Only the newest ones can
 * be shown anyway, so at most `settlementsMax` results, `eventsMax` events
 * and one state per device are ever decoded per flush, and none while
 * nobody watches.
 */
import { decodeMessage } from '../../protocol/index.ts';
import type { DeviceEvent, DeviceState, Outcome, OutcomeAck, SettleResult } from '../../protocol/index.ts';
import type { DashboardLimits } from './limits.ts';

/** Where decoded messages go (the feed). */
export interface DecodedSink {
  applyState(state: DeviceState): void;
  applyEvent(event: DeviceEvent): void;
  applyResult(result: SettleResult): void;
  applyOutcome(outcome: Outcome): void;
  applyOutcomeAck(ack: OutcomeAck): void;
}

type Raw = readonly [deviceId: string, payload: Buffer];

/** The gateway writes compact JSON: an acknowledgement says this, a result does not. */
const ackMarker = Buffer.from('"type":"outcome-ack"');

export function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

export class RawIntake {
  private states = new Map<string, Buffer>();
  private events: Raw[] = [];
  private results: Raw[] = [];
  private outcomes: Raw[] = [];
  private acks: Raw[] = [];
  /** Messages that did not decode or named another device than their topic: ignored, counted. */
  invalid = 0;

  constructor(private readonly limits: Pick<DashboardLimits, 'devicesMax' | 'eventsMax' | 'settlementsMax'>) {}

  /** A device's retained state: only its latest one matters. */
  state(deviceId: string, payload: Buffer): void {
    if (!this.states.has(deviceId) && this.states.size >= this.limits.devicesMax) return;
    this.states.set(deviceId, payload);
  }

  event(deviceId: string, payload: Buffer): void {
    pushBounded(this.events, [deviceId, payload], this.limits.eventsMax);
  }

  outcome(deviceId: string, payload: Buffer): void {
    pushBounded(this.outcomes, [deviceId, payload], this.limits.settlementsMax);
  }

  /** What the gateway published on a device's result topic: a SettleResult or an OutcomeAck. */
  result(deviceId: string, payload: Buffer): void {
    if (payload.includes(ackMarker)) pushBounded(this.acks, [deviceId, payload], this.limits.settlementsMax);
    else pushBounded(this.results, [deviceId, payload], this.limits.settlementsMax);
  }

  /** Decodes everything pending into the sink, results before the outcomes and acknowledgements that refer to them. */
  drain(sink: DecodedSink): void {
    const states = this.states;
    const [events, results, outcomes, acks] = [this.events, this.results, this.outcomes, this.acks];
    this.states = new Map();
    this.events = [];
    this.results = [];
    this.outcomes = [];
    this.acks = [];
    for (const [id, payload] of states) this.take(decodeMessage('state', payload), id, (m) => sink.applyState(m));
    for (const [id, payload] of events) this.take(decodeMessage('event', payload), id, (m) => sink.applyEvent(m));
    for (const [id, payload] of results) {
      const result = decodeMessage('result', payload);
      if (result.ok) this.take(result, id, (m) => sink.applyResult(m));
      else this.take(decodeMessage('outcome-ack', payload), id, (m) => sink.applyOutcomeAck(m));
    }
    for (const [id, payload] of outcomes) this.take(decodeMessage('outcome', payload), id, (m) => sink.applyOutcome(m));
    for (const [id, payload] of acks) this.take(decodeMessage('outcome-ack', payload), id, (m) => sink.applyOutcomeAck(m));
  }

  private take<M extends { deviceId: string }>(decoded: { ok: true; value: M } | { ok: false }, deviceId: string, apply: (m: M) => void): void {
    if (decoded.ok && decoded.value.deviceId === deviceId) apply(decoded.value);
    else this.invalid += 1;
  }
}
