/**
 * Every limit of the dashboard, named, with why it is that size. The
 * dashboard is for the technicians of one station: a handful of browsers, a
 * few dozen devices. It must never cost the gateway more than that, however
 * large the fleet behind it or slow the browser in front of it.
 */
export interface DashboardLimits {
  /** Open live streams at once: a few technicians' browsers and a wall screen. Over it, 429. */
  streamClientsMax: number;
  /** Bytes waiting for one stream's reader before the gateway drops it (the page reconnects and gets a fresh snapshot). */
  streamBufferBytesMax: number;
  /** A comment line on each stream this often: under the HTTP idle timeout (60 s) and the usual 30–60 s proxy timeouts. */
  heartbeatMs: number;
  /** Changes are batched and sent this often: at most 4 updates a second per browser however busy the fleet. */
  flushMs: number;
  /** Presence (online/offline) is re-read from the broker's view this often, to catch devices that went without a last will. */
  reconcileMs: number;
  /** Devices shown: a station has tens; a 10,000-device fleet shows the station's devices, then the first seen, and counts the rest. */
  devicesMax: number;
  /** Outputs shown per device (the protocol allows 64): a gate has 2–3, a vending machine a relay per slot. */
  outputsPerDeviceMax: number;
  /** Settlements kept and shown, newest first. */
  settlementsMax: number;
  /** Device events (taps, transitions, faults) kept and shown, newest first. */
  eventsMax: number;
  /** Demo phones shown (a station has five). */
  phonesMax: number;
  /** Items of one list (tickets, slots, faults) shown per phone or device. */
  listItemsMax: number;
  /** Any text from the station or a device is cut to this many characters. */
  textLengthMax: number;
  /** Journal reads at once that add the wallet and article to a settlement row; a row beyond it shows without them. */
  lookupsInFlightMax: number;
  /** Button actions (tap, jam, cut) running at once; over it, 429. */
  actionsInFlightMax: number;
  /** A station action that has not answered in this long is reported as timed out (a tap waits for the core and the device). */
  actionTimeoutMs: number;
}

export const defaultDashboardLimits: DashboardLimits = {
  streamClientsMax: 16,
  // ~1,000 device updates: far more than a few seconds of a station's traffic.
  streamBufferBytesMax: 256 * 1024,
  heartbeatMs: 15_000,
  flushMs: 250,
  reconcileMs: 2_000,
  devicesMax: 500,
  outputsPerDeviceMax: 16,
  settlementsMax: 50,
  eventsMax: 50,
  phonesMax: 50,
  listItemsMax: 16,
  textLengthMax: 200,
  lookupsInFlightMax: 8,
  actionsInFlightMax: 4,
  actionTimeoutMs: 15_000,
};

/** Merges overrides and checks each: a positive safe integer. */
export function resolveDashboardLimits(overrides: Partial<DashboardLimits> = {}): DashboardLimits {
  const merged: DashboardLimits = { ...defaultDashboardLimits, ...overrides };
  for (const [name, value] of Object.entries(merged)) {
    if (!(name in defaultDashboardLimits)) throw new RangeError(`unknown dashboard limit ${name}`);
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new RangeError(`dashboard limit ${name} must be an integer ≥ 1, got ${String(value)}`);
  }
  return merged;
}
