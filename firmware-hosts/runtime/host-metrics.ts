/**
 * A host's Prometheus metrics, on its own registry (a station runs many hosts
 * in one process; they must not share counts).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeviceLink } from './link.ts';

export type TapResult = 'approved' | 'declined' | 'refused' | 'offline-accepted' | 'failed';

export class HostMetrics {
  readonly registry = new Registry();
  readonly taps: Counter<'result'>;
  readonly tapToResultSeconds: Histogram;
  /** The device's own share of a tap: time spent outside the settle round trip. */
  readonly deviceOverheadSeconds: Histogram;
  readonly transitions: Counter;
  readonly outcomes: Counter<'outcome'>;

  constructor(link: DeviceLink) {
    const registers = [this.registry];
    this.taps = new Counter({ name: 'tapsettle_device_taps_total', help: 'Taps handled, by result', labelNames: ['result'], registers });
    this.tapToResultSeconds = new Histogram({ name: 'tapsettle_device_tap_to_result_seconds', help: 'From the phone entering the field to the verified result acted on', buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5], registers });
    this.deviceOverheadSeconds = new Histogram({ name: 'tapsettle_device_overhead_seconds', help: 'Time of a tap spent on the device, outside the settle round trip', buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1], registers });
    this.transitions = new Counter({ name: 'tapsettle_device_transitions_total', help: 'State machine transitions', registers });
    this.outcomes = new Counter({ name: 'tapsettle_device_outcomes_total', help: 'Outcomes reported, by kind', labelNames: ['outcome'], registers });
    new Gauge({ name: 'tapsettle_device_connected', help: '1 while the MQTT link is up', registers, collect() { this.set(link.connected ? 1 : 0); } });
    new Gauge({ name: 'tapsettle_device_outbox_depth', help: 'Pending outbox entries', registers, collect() { this.set(link.outbox.depth); } });
    new Gauge({ name: 'tapsettle_device_outbox_full', help: '1 while the outbox is full and the device does not sell', registers, collect() { this.set(link.outbox.isFull ? 1 : 0); } });
  }
}
