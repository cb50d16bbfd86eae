/**
 * The dashboard's buttons: tap a phone on a device, jam a dispenser, cut a
 * device off. Bodies are strict zod schemas; each action goes to the
 * StationView, at most `actionsInFlightMax` at once, and answers within
 * `actionTimeoutMs`. A station that fails answers a coded 409 with its
 * message (one line, cut short), never a stack.
 */
import { z } from 'zod';
import { DeviceId } from '../../protocol/index.ts';
import { DashboardError } from './errors.ts';
import type { DashboardLimits } from './limits.ts';
import type { StationView } from './station-view.ts';

/** A phone's name as the station spells it. */
const PhoneName = z.string().min(1).max(64);
const SlotName = z.string().min(1).max(16);

/** What to buy first (a vending slot, a kiosk ticket, a terminal article or amount); absent: the device's default. */
const Choice = z.string().min(1).max(32);

export const TapBody = z.strictObject({ phone: PhoneName, deviceId: DeviceId, choice: Choice.optional() });
export const JamBody = z.strictObject({ deviceId: DeviceId, slot: SlotName.optional() });
export const CutBody = z.strictObject({ deviceId: DeviceId, on: z.boolean() });

export type Action =
  | { kind: 'tap'; body: z.output<typeof TapBody> }
  | { kind: 'jam'; body: z.output<typeof JamBody> }
  | { kind: 'cut'; body: z.output<typeof CutBody> };

const oneLine = (s: string, max: number): string => s.replace(/\s+/g, ' ').trim().slice(0, max);

export class StationActions {
  private inFlight = 0;

  constructor(
    private readonly station: StationView | null,
    private readonly limits: Pick<DashboardLimits, 'actionsInFlightMax' | 'actionTimeoutMs' | 'textLengthMax'>,
    private readonly changed: () => void,
  ) {}

  /** Checks the names against the station, runs the action, and answers its short result text. */
  async run(action: Action): Promise<string> {
    const station = this.station;
    if (station === null) throw new DashboardError('TS_ERR_DASHBOARD_NO_STATION', 'no simulated station is attached to this gateway; the buttons work under `tapsettle start`');
    const device = this.knownDevice(station, action.body.deviceId);
    if (action.kind === 'tap' && !station.phones().some((p) => p.name === action.body.phone)) {
      throw new DashboardError('TS_ERR_DASHBOARD_UNKNOWN_PHONE', `no phone named ${JSON.stringify(action.body.phone)} in this station`);
    }
    if (action.kind === 'jam' && action.body.slot !== undefined && !(device.slots ?? []).includes(action.body.slot)) {
      throw new DashboardError('TS_ERR_DASHBOARD_UNKNOWN_DEVICE', `device ${device.id} has no slot ${JSON.stringify(action.body.slot)}`);
    }
    if (this.inFlight >= this.limits.actionsInFlightMax) throw new DashboardError('TS_ERR_DASHBOARD_BUSY', `${this.inFlight} actions are still running; wait for one to finish`);
    this.inFlight += 1;
    const running = this.start(station, action);
    // The slot is held until the station's promise settles, even after a timeout: a hung station cannot pile up work.
    running.then(() => this.done(), () => this.done());
    try {
      return oneLine(await withTimeout(running, this.limits.actionTimeoutMs), this.limits.textLengthMax);
    } catch (err) {
      if (err instanceof DashboardError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new DashboardError('TS_ERR_DASHBOARD_ACTION_FAILED', oneLine(message, this.limits.textLengthMax) || 'the station could not do it');
    }
  }

  private knownDevice(station: StationView, deviceId: string) {
    const device = station.devices().find((d) => d.id === deviceId);
    if (device === undefined) throw new DashboardError('TS_ERR_DASHBOARD_UNKNOWN_DEVICE', `no device ${deviceId} in this station`);
    return device;
  }

  private start(station: StationView, action: Action): Promise<string> {
    try {
      switch (action.kind) {
        case 'tap': return action.body.choice === undefined ? station.tap(action.body.phone, action.body.deviceId) : station.tap(action.body.phone, action.body.deviceId, action.body.choice);
        case 'jam': return action.body.slot === undefined ? station.jam(action.body.deviceId) : station.jam(action.body.deviceId, action.body.slot);
        case 'cut': return station.cut(action.body.deviceId, action.body.on);
      }
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private done(): void {
    this.inFlight -= 1;
    this.changed();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DashboardError('TS_ERR_DASHBOARD_ACTION_TIMEOUT', `the station did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
