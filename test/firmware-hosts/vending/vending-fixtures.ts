/**
 * The vending machine under test: its catalog (pushed as the retained
 * config), its device file, spirals that drop an article when their relay
 * turns (unless jammed), phones whose consent prompt records what the phone
 * was shown, and the customer's moves (type a slot, tap, take the phone away).
 */
import { SimulatedPhone } from '../../../sim/phone/phone.ts';
import type { AuthorizeCommand } from '../../../protocol/applet.ts';
import { topics, uuidv7 } from '../../../protocol/index.ts';
import type { DeviceConfig } from '../../../protocol/index.ts';
import { vendingKind } from '../../../firmware-hosts/vending/index.ts';
import type { LastSale, VendingProgram } from '../../../firmware-hosts/vending/index.ts';
import { eventually, ready, startTestHost } from '../harness.ts';
import type { TestHost, TestStation } from '../harness.ts';

export const deviceId = 'vending-1';

export const catalog = [
  { slot: 'A1', article: 'cola-330', name: 'Cola 0.33 l', price: { minor: 150, currency: 'EUR' } },
  { slot: 'A2', article: 'crisps-50', name: 'Crisps', price: { minor: 200, currency: 'EUR' } },
  // Claim 14: sold to 18 and over only.
  { slot: 'B1', article: 'beer-500', name: 'Beer 0.5 l', price: { minor: 350, currency: 'EUR' }, restrictions: { eligibility: { minAgeYears: 18 as const } } },
  // Claim 13: the customer may cancel for an hour; the merchant is paid after.
  { slot: 'B2', article: 'earbuds', name: 'Earbuds', price: { minor: 2500, currency: 'EUR' }, restrictions: { coolingOffSec: 3600 } },
];

/** Slots of the machine: A3 is wired but has no catalog item (no price); C1 has a capacity of one. */
export const slotRelays = { A1: 'slot-a1', A2: 'slot-a2', A3: 'slot-a3', B1: 'slot-b1', B2: 'slot-b2', C1: 'slot-c1' } as const;

export function deviceFile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const relays = Object.fromEntries(Object.values(slotRelays).map((name, i) => [name, { pin: 2 + i }]));
  return {
    parts: {
      nfc: { driver: 'sim' },
      codeReader: { driver: 'sim' },
      relays,
      inputs: { drop: { pin: 20, kind: 'drop-sensor', debounceMs: 5 }, door: { pin: 21, kind: 'door-switch', debounceMs: 5 } },
    },
    vending: {
      slots: { ...Object.fromEntries(Object.entries(slotRelays).map(([slot, relay]) => [slot, { relay }])), C1: { relay: 'slot-c1', capacity: 1 } },
      dropSensor: 'drop',
      doorSwitch: 'door',
      pulseMs: 200,
      dropDeadlineMs: 600,
      failuresBeforeDisable: 2,
      outcomeDeadlineSec: 30,
      tapTimeoutMs: 5_000,
      settleTimeoutMs: 5_000,
      outcomeAckTimeoutMs: 3_000,
      messageMs: 0,
      ...overrides,
    },
  };
}

export const fullCatalog = [...catalog, { slot: 'C1', article: 'gum', name: 'Gum', price: { minor: 80, currency: 'EUR' } }];

export interface Machine extends TestHost {
  program: VendingProgram;
  /** Spirals that turn but drop nothing. */
  jammed: Set<string>;
  /** Relays that opened, in order. */
  turned: string[];
  /** Every text the display showed, in order. */
  shown: string[];
}

/** Starts the vending host with spirals that drop an article 60 ms into their turn (unless jammed). */
export async function startMachine(station: TestStation, options: { dataDir?: string; overrides?: Record<string, unknown>; configVersion?: number } = {}): Promise<Machine> {
  const h = await startTestHost(station, vendingKind, deviceId, deviceFile(options.overrides), options.dataDir !== undefined ? { dataDir: options.dataDir } : {});
  const jammed = new Set<string>();
  const turned: string[] = [];
  const drop = h.sim.inputs.get('drop')!;
  for (const relay of h.sim.relays.values()) {
    relay.on('change', (state) => {
      if (state !== 'open') return;
      turned.push(relay.name);
      if (!jammed.has(relay.name)) setTimeout(() => void drop.pulse(40), 60);
    });
  }
  const shown: string[] = [h.sim.display.text];
  const show = h.sim.display.show.bind(h.sim.display);
  h.sim.display.show = (text: string) => {
    shown.push(text);
    show(text);
  };
  if (options.configVersion !== undefined) await ready(h, options.configVersion);
  return { ...h, program: h.host.program as VendingProgram, jammed, turned, shown };
}

let catalogVersion = 1000;

/**
 * Publishes the catalog as the machine's retained config through the station's current broker
 * (station.pushConfig keeps the first gateway, and a restart test replaces it). Returns its version.
 */
export async function pushCatalog(station: TestStation): Promise<number> {
  catalogVersion += 1;
  const config: DeviceConfig = { v: 1, type: 'config', requestId: uuidv7(), sentAt: Date.now(), deviceId, version: catalogVersion, merchant: station.demo.merchant, catalog: fullCatalog };
  await station.gw.broker.publish(topics.config(deviceId), JSON.stringify(config), { qos: 1, retain: true });
  return catalogVersion;
}

type PhoneOf = { phone: SimulatedPhone; shown: AuthorizeCommand[]; consent: (r: AuthorizeCommand) => boolean };
/** One phone per wallet and station: a second phone for a wallet would start its counter again (a replay). */
const phones = new WeakMap<TestStation, Map<string, PhoneOf>>();

/** The demo phone of `name`; its consent prompt records each request it was shown, and `consent` answers it. */
export async function phoneOf(station: TestStation, name: string, consent: (r: AuthorizeCommand) => boolean = () => true): Promise<PhoneOf> {
  const mine = phones.get(station) ?? new Map<string, PhoneOf>();
  phones.set(station, mine);
  const known = mine.get(name);
  if (known) {
    known.consent = consent;
    known.shown.length = 0;
    return known;
  }
  const w = station.demo.wallets.find((x) => x.name === name)!;
  const entry: PhoneOf = { phone: null as unknown as SimulatedPhone, shown: [], consent };
  entry.phone = await SimulatedPhone.open({
    walletId: w.walletId, walletKey: Buffer.from(w.walletKey, 'base64'),
    consent: (r) => {
      if (r.kind !== 'purchase') return true; // a vending machine reads no cards
      entry.shown.push(r);
      return entry.consent(r);
    },
  });
  mine.set(name, entry);
  return entry;
}

/** The customer types `slot`, taps the phone once the machine asks for it, and takes it away after the sale. */
export async function buy(m: Machine, phone: SimulatedPhone, slot: string): Promise<void> {
  await eventually('the machine waits for a choice', () => m.program.machine.state === 'idle');
  m.sim.keypad!.scan(slot);
  await eventually(`slot ${slot} chosen`, () => m.program.machine.state === 'chosen');
  m.sim.chip!.field.place(phone);
  await eventually('the phone was taken', () => m.program.machine.state !== 'chosen');
  await eventually('the sale ended', () => ['idle', 'out-of-service'].includes(m.program.machine.state), 10_000);
  m.sim.chip!.field.remove(phone);
}

export const accountOf = (station: TestStation, name: string): string => station.demo.wallets.find((w) => w.name === name)!.account;
export const walletOf = (station: TestStation, name: string): string => station.demo.wallets.find((w) => w.name === name)!.walletId;

export async function merchantBalance(station: TestStation): Promise<number> {
  return (await station.gw.core.store.getAccount(station.demo.merchant))!.balance;
}

export async function balanceOf(station: TestStation, name: string): Promise<number> {
  return (await station.gw.core.store.getAccount(accountOf(station, name)))!.balance;
}

/** The last sale the machine handled, as its health report shows it. */
export function machineLast(m: Machine): LastSale {
  const last = m.program.report().lastSale as LastSale | null;
  if (last === null) throw new Error('no sale yet');
  return last;
}
