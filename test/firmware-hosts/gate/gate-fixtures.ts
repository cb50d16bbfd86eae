/**
 * Gate test helpers: a gate host of a given mode on the test station's demo
 * gates, its retained config (fare table, gate and issuer keys, deny list),
 * a customer's tap (phone placed, walk through when the paddles open, phone
 * taken away), and a gateway restart on the same port, data and keys.
 */
import { join } from 'node:path';
import { generateSigningKeyPair, signEd25519, ticketBytes, topics, uuidv7 } from '../../../protocol/index.ts';
import type { DeviceConfig, SigningKeyPair, Ticket } from '../../../protocol/index.ts';
import { putMode } from '../../../protocol/applet.ts';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import { startGateway } from '../../../gateway/gateway.ts';
import type { RunningGateway } from '../../../gateway/gateway.ts';
import { gateKind } from '../../../firmware-hosts/gate/index.ts';
import type { GateProgram, LastTap } from '../../../firmware-hosts/gate/index.ts';
import type { SimulatedPhone } from '../../../sim/phone/phone.ts';
import { eventually, ready, startTestHost } from '../harness.ts';
import type { TestHost, TestStation } from '../harness.ts';

export const entryKey = generateSigningKeyPair('gate-entry-1');
export const exitKey = generateSigningKeyPair('gate-exit-1');
export const issuer = generateSigningKeyPair('issuer-test');

export const fareTable = {
  currency: 'EUR',
  maxFareMinor: 500,
  fares: [{ from: 'central', to: 'harbour', fareMinor: 250 }, { from: 'harbour', to: 'harbour', fareMinor: 150 }],
};

export const gateParts = {
  nfc: { driver: 'sim' },
  relays: { gate: { pin: 1 } },
  inputs: { passage: { pin: 2, kind: 'passage-sensor', debounceMs: 5 } },
};

const pub = (k: SigningKeyPair) => ({ keyId: k.keyId, publicKey: k.publicKey });

export function gateConfig(extra: Partial<Pick<DeviceConfig, 'denyList' | 'fareTable' | 'keys'>> = {}) {
  return { fareTable, keys: { issuer: [pub(issuer)], gates: [pub(entryKey), pub(exitKey)] }, ...extra };
}

export interface GateUnderTest extends TestHost {
  program: GateProgram;
}

let lastVersion = 0;
/** Publishes a retained config through a given gateway (the station's helper only knows the first one it started). */
export async function publishConfig(station: TestStation, gw: RunningGateway, deviceId: string, config: Parameters<typeof gateConfig>[0] = {}): Promise<number> {
  lastVersion = Math.max(lastVersion + 1, Date.now());
  const body = { v: 1, type: 'config', requestId: uuidv7(), sentAt: Date.now(), deviceId, version: lastVersion, merchant: station.demo.merchant, ...gateConfig(config) };
  await gw.broker.publish(topics.config(deviceId), JSON.stringify(body), { qos: 1, retain: true });
  return lastVersion;
}

/** A gate host on demo device `deviceId`, with its config pushed and applied (through `via` when the station's gateway was restarted). */
export async function startGate(station: TestStation, deviceId: string, section: Record<string, unknown>, options: { config?: Parameters<typeof gateConfig>[0]; dataDir?: string; via?: RunningGateway } = {}): Promise<GateUnderTest> {
  const key = deviceId === 'gate-exit-1' ? exitKey : entryKey;
  const h = await startTestHost(station, gateKind, deviceId, {
    parts: gateParts,
    gate: { resultTimeoutMs: 400, openPulseMs: 1_500, tapPollMs: 50, admissionKey: { keyId: key.keyId, privateKey: key.privateKey }, ...section },
  }, options.dataDir !== undefined ? { dataDir: options.dataDir } : {});
  const version = options.via ? await publishConfig(station, options.via, deviceId, options.config) : (await station.pushConfig(deviceId, gateConfig(options.config))).version;
  await ready(h, version);
  const program = h.host.program as GateProgram;
  await eventually('gate idle', () => program.machine.state === 'idle');
  return { ...h, program };
}

/** Publishes a newer config to a running gate and waits until it is applied. */
export async function pushGateConfig(station: TestStation, g: GateUnderTest, deviceId: string, config: Parameters<typeof gateConfig>[0] = {}): Promise<void> {
  const pushed = await station.pushConfig(deviceId, gateConfig(config));
  await eventually('config applied', () => g.host.link.outbox.configVersion >= pushed.version);
}

const phones = new WeakMap<TestStation, Map<string, Promise<SimulatedPhone>>>();
/** One simulated phone per demo wallet and station: a second phone of the same wallet would reuse its counters. */
export function phoneOf(station: TestStation, name: string): Promise<SimulatedPhone> {
  let byName = phones.get(station);
  if (!byName) phones.set(station, (byName = new Map<string, Promise<SimulatedPhone>>()));
  let p = byName.get(name);
  if (!p) byName.set(name, (p = station.phone(name)));
  return p;
}

export const opens = (g: TestHost): number => g.sim.relays.get('gate')!.history().filter((t) => t.state === 'open').length;

/**
 * One customer: the phone enters the field; if the paddles open and `walk`,
 * the customer walks through the beam; the phone leaves; resolves with what
 * the gate did once it is ready for the next customer.
 */
export async function tap(g: GateUnderTest, phone: SimulatedPhone, options: { walk?: boolean; timeoutMs?: number } = {}): Promise<LastTap> {
  const walk = options.walk ?? true;
  const before = g.program.report().handled as number;
  const opened = opens(g);
  g.sim.chip!.field.place(phone);
  let walked = false;
  await eventually('tap handled', async () => {
    if (walk && !walked && opens(g) > opened) {
      walked = true;
      await g.sim.inputs.get('passage')!.pulse(40);
    }
    return (g.program.report().handled as number) > before;
  }, options.timeoutMs ?? 8_000);
  g.sim.chip!.field.remove(phone);
  await eventually('field clear', () => g.program.report().fieldBusy === false && g.program.machine.state === 'idle');
  return g.program.last!;
}

export function signedTicket(walletId: string, over: Partial<Omit<Ticket, 'sig'>> = {}, key: SigningKeyPair = issuer): Ticket {
  const now = Date.now();
  const body = { ticketId: uuidv7(), walletId, product: 'day-pass', validFrom: now - 60_000, validUntil: now + 3_600_000, uses: 1, keyId: key.keyId, ...over };
  return { ...body, sig: signEd25519(key, ticketBytes(body)) };
}

export function giveTicket(phone: SimulatedPhone, t: Ticket): void {
  phone.holdings.putTickets([t], putMode.add);
}

/**
 * Stops the station's gateway and returns a function that starts it again on
 * the same MQTT port, data directory and keys (the devices' secrets still hold).
 */
export async function stopGateway(station: TestStation, gw: RunningGateway = station.gw): Promise<() => Promise<RunningGateway>> {
  const port = Number(new URL(station.mqttUrl).port);
  await gw.close();
  return () => startGateway(parseGatewayConfig({ data: join(station.dir, 'gw'), mqtt: { port }, http: { port: 0 }, log: { level: 'silent' } }), station.keys);
}
