/**
 * A small StationView for the dashboard tests, until the simulated station
 * (issue 6, item 1) replaces it: the demo's entry gate, exit gate and vending
 * machine as real device links (firmware-hosts' DeviceLink over MQTT) and the
 * demo phones. An entry tap opens the gate and records the admission; an exit
 * tap settles the fare over MQTT, opens the gate and reports `passed`; a
 * vending tap settles the price, turns the spiral and reports `dispensed`.
 * Balances are read from the ledger after every action.
 *
 * It is handed to startGateway before its devices run (they need the
 * gateway's broker): `start()` brings them up afterwards and tells the
 * dashboard, as the real station does.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { limits, uuidv7, walletCryptogram } from '../../../protocol/index.ts';
import type { DeviceOutput, Purchase } from '../../../protocol/index.ts';
import { DeviceLink } from '../../../firmware-hosts/runtime/link.ts';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import type { DemoCredentials } from '../../../gateway/demo-seed.ts';
import type { PhoneView, StationDevice, StationView } from '../../../gateway/dashboard/station-view.ts';

export const exitFareMinor = 180;
export const colaPriceMinor = 250;
/** How long the relays stay open: long enough for a browser test to see it. */
export const relayOpenMs = 1500;

type Demo = DemoCredentials;
interface Machine { device: StationDevice; link: DeviceLink; secret: string; dataDir: string; jammed: Set<string> }

let counter = 5000;

export class TestStation implements StationView {
  private readonly machines = new Map<string, Machine>();
  private readonly listeners = new Set<() => void>();
  private readonly balances = new Map<string, number>();
  private readonly admissions = new Map<string, string>();
  private demo: Demo = { merchant: '', devices: [], wallets: [] };
  private core: SettlementCore | null = null;
  private mqttUrl = '';

  /** Opens the device links and waits until each is connected and shows its rest state. */
  async start(demo: Demo, core: SettlementCore, mqttUrl: string, dataDir: string): Promise<void> {
    this.demo = demo;
    this.core = core;
    this.mqttUrl = mqttUrl;
    const roles: Record<string, { role: string; slots?: string[] }> = {
      'gate-entry-1': { role: 'entry gate' }, 'gate-exit-1': { role: 'exit gate' }, 'vending-1': { role: 'snack machine', slots: ['A1', 'A2'] },
    };
    for (const d of demo.devices) {
      const r = roles[d.id];
      if (r === undefined) continue;
      const device: StationDevice = { id: d.id, kind: d.kind, role: r.role, ...(r.slots ? { slots: r.slots } : {}), cutOff: false };
      const dir = join(dataDir, d.id);
      this.machines.set(d.id, { device, link: this.openLink(d.id, d.kind, d.secret, dir), secret: d.secret, dataDir: dir, jammed: new Set() });
    }
    for (const w of demo.wallets) this.balances.set(w.name, w.balance);
    for (const m of this.machines.values()) await waitFor(() => m.link.connected, 5000, `${m.device.id} to connect`);
    for (const m of this.machines.values()) m.link.present({ machineState: 'idle', outputs: this.outputs(m, false) });
    this.notify();
  }

  phones(): readonly PhoneView[] {
    return this.demo.wallets.map((w) => ({
      name: w.name, walletId: w.walletId, account: w.account, balance: { minor: this.balances.get(w.name) ?? 0, currency: 'EUR' },
      tickets: [], admission: this.admissions.get(w.name) ?? null, emoney: null,
    }));
  }

  devices(): readonly StationDevice[] {
    return [...this.machines.values()].map((m) => m.device);
  }

  async tap(phone: string, deviceId: string): Promise<string> {
    const m = this.machine(deviceId);
    const wallet = this.demo.wallets.find((w) => w.name === phone);
    if (wallet === undefined) throw new Error(`no phone ${phone}`);
    if (m.device.cutOff === true) throw new Error(`${deviceId} is cut off`);
    m.link.event('tap', phone);
    try {
      if (deviceId === 'gate-entry-1') {
        this.admissions.set(phone, `in at ${deviceId}`);
        await this.pulse(m, 'open');
        return `${phone} entered`;
      }
      const price = deviceId === 'gate-exit-1' ? exitFareMinor : colaPriceMinor;
      const result = await m.link.settle(this.draft(deviceId, wallet, price), 5000);
      if (result.status !== 'approved') return `declined: ${result.reason ?? 'no reason'}`;
      await this.pulse(m, deviceId === 'gate-exit-1' ? 'open' : 'vending');
      await m.link.outcome({ settleRequestId: result.requestId, outcome: deviceId === 'gate-exit-1' ? 'passed' : 'dispensed' }, 5000);
      if (deviceId === 'gate-exit-1') this.admissions.delete(phone);
      return `approved ${(price / 100).toFixed(2)} EUR`;
    } finally {
      await this.refreshBalances();
    }
  }

  jam(deviceId: string, slot?: string): Promise<string> {
    const m = this.machine(deviceId);
    if (m.device.kind !== 'vending') return Promise.reject(new Error(`${deviceId} has nothing to jam`));
    const s = slot ?? m.device.slots?.[0] ?? 'A1';
    m.jammed.add(s);
    m.link.present({ machineState: 'idle', outputs: this.outputs(m, false) }, [`slot ${s} jammed`]);
    m.link.event('error', `slot ${s} jammed`);
    return Promise.resolve(`slot ${s} jammed`);
  }

  async cut(deviceId: string, on: boolean): Promise<string> {
    const m = this.machine(deviceId);
    if (on === (m.device.cutOff === true)) return on ? `${deviceId} already cut off` : `${deviceId} already connected`;
    if (on) {
      await m.link.close();
    } else {
      m.link = this.openLink(deviceId, m.device.kind, m.secret, m.dataDir);
      await waitFor(() => m.link.connected, 5000, `${deviceId} to reconnect`);
      m.link.present({ machineState: 'idle', outputs: this.outputs(m, false) });
    }
    m.device = { ...m.device, cutOff: on };
    this.notify();
    return on ? `${deviceId} cut off` : `${deviceId} reconnected`;
  }

  subscribe(listener: () => void): () => void {
    const entry = (): void => listener();
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  async close(): Promise<void> {
    for (const m of this.machines.values()) await m.link.close();
  }

  private openLink(deviceId: string, kind: StationDevice['kind'], secret: string, dataDir: string): DeviceLink {
    return DeviceLink.open({ url: this.mqttUrl, deviceId, secret, dataDir, kind, backoff: { minMs: 20, maxMs: 400 } });
  }

  private machine(deviceId: string): Machine {
    const m = this.machines.get(deviceId);
    if (m === undefined) throw new Error(`no device ${deviceId}`);
    return m;
  }

  private outputs(m: Machine, open: boolean): DeviceOutput[] {
    if (m.device.kind === 'gate') return [{ name: 'gate', kind: 'relay', state: open ? 'open' : 'closed' }, { name: 'passage', kind: 'sensor', state: open ? 'active' : 'idle' }];
    return (m.device.slots ?? []).flatMap((s): DeviceOutput[] => [
      { name: `spiral-${s}`, kind: 'relay', state: open && s === 'A1' ? 'open' : 'closed' },
      { name: `slot-${s}`, kind: 'slot', state: m.jammed.has(s) ? 'jammed' : 'enabled' },
    ]);
  }

  /** Opens the relay (the gate, or the A1 spiral), then closes it after relayOpenMs. */
  private async pulse(m: Machine, machineState: string): Promise<void> {
    m.link.present({ machineState, outputs: this.outputs(m, true) });
    m.link.event('transition', `idle→${machineState}`);
    await new Promise((resolve) => setTimeout(resolve, relayOpenMs));
    m.link.present({ machineState: 'idle', outputs: this.outputs(m, false) });
    m.link.event('transition', `${machineState}→idle`);
  }

  private draft(deviceId: string, wallet: Demo['wallets'][number], minor: number) {
    const purchase: Purchase = { merchant: this.demo.merchant, amount: { minor, currency: 'EUR' }, article: deviceId === 'gate-exit-1' ? 'fare' : 'cola-330', quantity: 1 };
    const deviceNonce = randomBytes(limits.nonceBytes).toString('hex');
    counter += 1;
    const cryptogram = walletCryptogram(Buffer.from(wallet.walletKey, 'base64'), { walletId: wallet.walletId, deviceId, purchase, deviceNonce, counter });
    return { requestId: uuidv7(), purchase, wallet: { walletId: wallet.walletId, counter, deviceNonce, cryptogram }, outcomeDeadlineSec: 30 };
  }

  private async refreshBalances(): Promise<void> {
    for (const w of this.demo.wallets) {
      const account = await this.core?.store.getAccount(w.account);
      if (account) this.balances.set(w.name, account.balance);
    }
    this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
