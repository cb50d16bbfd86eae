/**
 * The simulated station `tapsettle start` runs in one process beside the
 * gateway: every device of the station file as a real device host on
 * simulated parts (station-device.ts), every phone as a simulated phone of a
 * demo wallet (station-phone.ts), and the technician's handles on them — the
 * dashboard's StationView (gateway/dashboard/station-view.ts; implemented
 * here by shape, since sim/ does not import gateway/, DESIGN §3) and
 * `tapsettle sim tap`.
 *
 * It is created before the gateway (the gateway takes it for its dashboard)
 * and started after it (its devices need the broker): until then phones()
 * and devices() are empty, and its listeners hear when it is up.
 */
import type { Logger } from 'pino';
import type { DeviceKind, SigningKeyPair } from '../../protocol/index.ts';
import { customerTap } from './customer.ts';
import { StationError } from './errors.ts';
import { gateAdmissionKey, stationPaths } from './station-data.ts';
import type { StationPaths } from './station-data.ts';
import { StationMachine } from './station-device.ts';
import type { StationFile } from './station-file.ts';
import { StationPhone } from './station-phone.ts';
import type { PhoneWallet } from './station-phone.ts';

/** Balances are read again this often, so a refund or a top-up made elsewhere shows without a tap. */
export const balanceRefreshMs = 2_000;
/** Every device connected and holding its config within this after start, or start fails naming the laggards. */
export const readyTimeoutMs = 15_000;

export interface StationStartDeps {
  mqttUrl: string;
  /** The device's secret as the gateway registered it; null if the gateway does not know the device. */
  deviceSecret(deviceId: string): string | null;
  /** The demo wallet of that name; null if there is none. */
  wallet(name: string): PhoneWallet | null;
  /** An account's balance in minor units (the ledger). */
  balance(account: string): Promise<number>;
  currency: string;
  logger: Logger;
}

/** Same shape as the dashboard's PhoneView. */
export interface StationPhoneView {
  name: string;
  walletId: string;
  account: string;
  balance: { minor: number; currency: string };
  tickets: readonly string[];
  admission: string | null;
  emoney: string | null;
}

/** Same shape as the dashboard's StationDevice. */
export interface StationDeviceView {
  id: string;
  kind: DeviceKind;
  role: string;
  slots?: readonly string[];
  cutOff?: boolean;
}

export class SimulatedStation {
  readonly paths: StationPaths;
  private readonly machines = new Map<string, StationMachine>();
  private readonly phoneList = new Map<string, StationPhone>();
  private readonly balances = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private deps: StationStartDeps | null = null;
  private refresher: NodeJS.Timeout | null = null;
  private keys: Map<string, SigningKeyPair> | null = null;

  constructor(readonly file: StationFile, dataDir: string) {
    this.paths = stationPaths(dataDir);
  }

  /** Each gate's admission key, generated on the first run and kept in the data directory (owner-only). */
  gateKeys(): ReadonlyMap<string, SigningKeyPair> {
    this.keys ??= new Map(this.file.devices.filter((d) => d.kind === 'gate').map((d) => [d.id, gateAdmissionKey(this.paths, d.id)]));
    return this.keys;
  }

  /** Opens the phones and starts every device host; resolves once each is connected and has its config. */
  async start(deps: StationStartDeps): Promise<void> {
    this.gateKeys();
    const secrets = this.file.devices.map((d, i) => {
      const secret = deps.deviceSecret(d.id);
      if (secret === null) throw new StationError('TS_ERR_STATION_FILE', `devices.${i}.id: ${d.id} is not registered with this gateway; register it (\`tapsettle devices add\`) or use one of the demo devices`);
      return secret;
    });
    const wallets = this.file.phones.map((p, i) => {
      const w = deps.wallet(p.wallet);
      if (w === null) throw new StationError('TS_ERR_STATION_FILE', `phones.${i}.wallet: no demo wallet named ${p.wallet}`);
      return w;
    });
    for (const [i, p] of this.file.phones.entries()) this.phoneList.set(p.name, await StationPhone.open(p.name, wallets[i]!, this.paths));
    this.deps = deps;
    const machines = this.file.devices.map((spec, i) => new StationMachine({
      spec, secret: secrets[i]!, mqttUrl: deps.mqttUrl, paths: this.paths, logger: deps.logger, changed: () => this.notify(),
    }));
    try {
      for (const [i, m] of machines.entries()) {
        await m.start().catch((err: unknown) => {
          // A part the section names but the parts lack, a pulse longer than the relay allows: the station file's mistake.
          const code = (err as { code?: unknown }).code;
          if (code === 'TS_ERR_DEVICE_PARTS' || code === 'TS_ERR_DEVICE_FILE') throw new StationError('TS_ERR_STATION_FILE', `devices.${i} (${m.id}): ${(err as Error).message}`);
          throw err;
        });
        this.machines.set(m.id, m);
      }
      await this.ready(readyTimeoutMs);
    } catch (err) {
      await this.close();
      throw err;
    }
    await this.refreshBalances();
    this.refresher = setInterval(() => void this.refreshBalances().catch((err: unknown) => deps.logger.warn({ err }, 'station: balances not read')), balanceRefreshMs);
    this.refresher.unref();
    this.notify();
  }

  private async ready(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    const lagging = () => [...this.machines.values()].filter((m) => !(m.live.host.link.connected && m.live.host.link.outbox.configVersion > 0)).map((m) => m.id);
    while (lagging().length > 0) {
      if (Date.now() > deadline) throw new StationError('TS_ERR_STATION_NOT_RUNNING', `not connected with a config within ${ms} ms: ${lagging().join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  phones(): readonly StationPhoneView[] {
    const now = Date.now();
    const currency = this.deps?.currency ?? 'EUR';
    return [...this.phoneList.values()].map((p) => ({
      name: p.name, walletId: p.wallet.walletId, account: p.wallet.account,
      balance: { minor: this.balances.get(p.name) ?? 0, currency },
      tickets: p.tickets(now), admission: p.admission(), emoney: p.emoney(),
    }));
  }

  devices(): readonly StationDeviceView[] {
    return [...this.machines.values()].map((m) => ({
      id: m.id, kind: m.spec.kind, role: m.spec.role, cutOff: m.cutOff, ...(m.slots.length > 0 ? { slots: m.slots } : {}),
    }));
  }

  /**
   * Places the phone on the device's reader, after making the selection the
   * device needs (`choice`: a vending slot, a kiosk ticket, a terminal
   * article or amount in minor units; the device's default otherwise).
   */
  async tap(phoneName: string, deviceId: string, choice?: string): Promise<string> {
    const phone = this.phoneList.get(phoneName);
    if (phone === undefined) throw new StationError('TS_ERR_STATION_UNKNOWN_PHONE', `no phone named ${phoneName} (phones: ${[...this.phoneList.keys()].join(', ')})`);
    const m = this.machine(deviceId);
    if (m.cutOff) throw new StationError('TS_ERR_STATION_CUT_OFF', `${deviceId} is cut off; reconnect it first`);
    if (phone.busyOn !== null) throw new StationError('TS_ERR_STATION_BUSY', `${phoneName} is on ${phone.busyOn}'s reader already`);
    if (m.busy !== null) throw new StationError('TS_ERR_STATION_BUSY', `${deviceId} is serving ${m.busy}; wait for that tap to finish`);
    phone.busyOn = deviceId;
    m.busy = phoneName;
    try {
      return await customerTap(m, phone, choice);
    } finally {
      phone.busyOn = null;
      m.busy = null;
      try {
        phone.save();
      } catch (err) {
        this.deps?.logger.warn({ err, phone: phoneName }, 'station: phone holdings not saved');
      }
      await this.refreshBalances().catch(() => undefined);
      this.notify();
    }
  }

  jam(deviceId: string, slot?: string): Promise<string> {
    try {
      const said = this.machine(deviceId).jam(slot);
      this.notify();
      return Promise.resolve(said);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  cut(deviceId: string, on: boolean): Promise<string> {
    try {
      return this.machine(deviceId).setCut(on);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  subscribe(listener: () => void): () => void {
    const entry = (): void => listener();
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  /** Stops every device host cleanly (retained state offline, outboxes on disk) and saves the phones. */
  async close(): Promise<void> {
    if (this.refresher) clearInterval(this.refresher);
    this.refresher = null;
    for (const m of this.machines.values()) await m.close().catch((err: unknown) => this.deps?.logger.warn({ err, device: m.id }, 'station: device did not close cleanly'));
    for (const p of this.phoneList.values()) {
      try {
        p.save();
      } catch {
        // Best effort at shutdown; the last tap saved them already.
      }
    }
  }

  private machine(deviceId: string): StationMachine {
    const m = this.machines.get(deviceId);
    if (m === undefined) throw new StationError('TS_ERR_STATION_UNKNOWN_DEVICE', `no device ${deviceId} in this station (devices: ${[...this.machines.keys()].join(', ')})`);
    return m;
  }

  private async refreshBalances(): Promise<void> {
    const deps = this.deps;
    if (deps === null) return;
    let changed = false;
    for (const p of this.phoneList.values()) {
      const minor = await deps.balance(p.wallet.account);
      if (this.balances.get(p.name) !== minor) changed = true;
      this.balances.set(p.name, minor);
    }
    if (changed) this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.deps?.logger.warn({ err }, 'station: a listener threw');
      }
    }
  }
}
