/** A station with a ticket issuer, a kiosk host on simulated parts, and the ways a test acts as the customer and reads the results. */
import { WalletClient } from '../../../hardware/wallet-client.ts';
import { generateSigningKeyPair } from '../../../protocol/index.ts';
import type { DeviceConfig, EmoneyToken, SigningKeyPair, Ticket } from '../../../protocol/index.ts';
import { kioskKind } from '../../../firmware-hosts/kiosk/kiosk.ts';
import type { KioskProgram } from '../../../firmware-hosts/kiosk/program.ts';
import { DirectTransport } from '../../../sim/phone/direct-transport.ts';
import { PhoneEmoney } from '../../../sim/phone/phone-emoney.ts';
import { WalletApiClient } from '../../../sim/phone/wallet-api-client.ts';
import type { SimulatedPhone } from '../../../sim/phone/phone.ts';
import type { GatewayKeys } from '../../../gateway/gateway.ts';
import { call, signed } from '../../gateway/http/harness.ts';
import { eventually, ready, startTestHost, startTestStation } from '../harness.ts';
import type { TestHost, TestStation } from '../harness.ts';

export const kioskId = 'kiosk-1';

export const catalog: NonNullable<DeviceConfig['catalog']> = [
  { slot: 'T1', article: 'day-pass', name: 'Day pass', price: { minor: 700, currency: 'EUR' }, ticket: { validitySec: 86_400, uses: 10 } },
  { slot: 'T2', article: 'single-ride', name: 'Single ride', price: { minor: 250, currency: 'EUR' }, ticket: { validitySec: 5_400, uses: 1 } },
  // Not a ticket: not a kiosk product.
  { slot: 'C1', article: 'coffee', name: 'Coffee', price: { minor: 180, currency: 'EUR' } },
];

/** Claim 34: e-money of 20.00 sold at the kiosk (not in `catalog`, so the ticket tests see the kiosk as they did). */
export const emoneyItem = { slot: 'E1', article: 'emoney-20', name: 'E-money 20.00', price: { minor: 2_000, currency: 'EUR' }, emoney: { kind: 'issue' as const } };
export const emoneyCatalog: NonNullable<DeviceConfig['catalog']> = [...catalog, emoneyItem];

export const issuerKeys = (pair: SigningKeyPair) => ({ issuer: [{ keyId: pair.keyId, publicKey: pair.publicKey }], gates: [] });

/** A station whose gateway signs tickets; `keys` (a restart on the same ledger) keeps the master keys of an earlier one. */
export async function startKioskStation(issuer: SigningKeyPair = generateSigningKeyPair('issuer-kiosk-1'), options: { gatewayData?: string; mqttPort?: number; keys?: Partial<GatewayKeys> } = {}): Promise<TestStation & { issuer: SigningKeyPair }> {
  const station = await startTestStation({ ...options, keys: { ...options.keys, ticketIssuer: issuer } });
  return Object.assign(station, { issuer });
}

export interface KioskHost extends TestHost {
  program: KioskProgram;
}

export async function startKiosk(station: TestStation & { issuer: SigningKeyPair }, kiosk: Record<string, unknown> = {}, options: { dataDir?: string; push?: boolean } = {}): Promise<KioskHost> {
  const config = options.push === false ? null : await station.pushConfig(kioskId, { catalog, keys: issuerKeys(station.issuer) });
  const h = await startTestHost(station, kioskKind, kioskId, { parts: { nfc: { driver: 'sim' }, codeReader: { driver: 'sim' } }, kiosk }, options.dataDir !== undefined ? { dataDir: options.dataDir } : {});
  if (config !== null) await ready(h, config.version);
  return Object.assign(h, { program: h.host.program as KioskProgram });
}

/** The customer holds the phone to the kiosk's reader. */
export function tap(h: TestHost, phone: SimulatedPhone): void {
  phone.placeInField();
  h.sim.chip!.field.place(phone);
}

/** GET TICKET through the phone's applet (a reader of its own, after the kiosk let it go). */
export async function ticketsOnPhone(phone: SimulatedPhone): Promise<Ticket[]> {
  phone.placeInField();
  const transport = new DirectTransport(phone);
  transport.activate();
  const client = new WalletClient(transport);
  await client.select();
  const tickets = await client.getTickets();
  await transport.release();
  return tickets;
}

/** GET EMONEY through the phone's applet (a reader of its own, after the kiosk let it go). */
export async function emoneyOnPhone(phone: SimulatedPhone): Promise<EmoneyToken[]> {
  phone.placeInField();
  const transport = new DirectTransport(phone);
  transport.activate();
  const client = new WalletClient(transport);
  await client.select();
  const tokens = await client.getEmoney();
  await transport.release();
  return tokens;
}

/** The phone's e-money over the wallet API (its purse is the phone's holdings); `via`: a gateway restarted on the same ledger. */
export function phoneEmoney(station: TestStation, name: string, phone: SimulatedPhone, via: TestStation = station): PhoneEmoney {
  const w = station.demo.wallets.find((x) => x.name === name)!;
  // Its API counter starts far above the fixtures' own signed calls: use those for this wallet before it, never after.
  const api = new WalletApiClient({ baseUrl: via.gw.urls.http, walletId: w.walletId, walletKey: Buffer.from(w.walletKey, 'base64'), lastCounter: 1_000_000 });
  return new PhoneEmoney(api, phone.holdings);
}

/** The wallet API's list of a wallet's tickets, with the wallet's own proof (`via`: a gateway restarted on the same ledger). */
export async function walletApiTickets(station: TestStation, name: string, via: TestStation = station): Promise<Ticket[]> {
  const w = station.demo.wallets.find((x) => x.name === name)!;
  const wallet = { walletId: w.walletId, walletKey: Buffer.from(w.walletKey, 'base64'), account: w.account, counter: 0 };
  const r = await call(signed(via.gw.urls.http, wallet, 'GET', `/v1/wallets/${w.walletId}/tickets`));
  if (r.status !== 200) throw new Error(`wallet API answered ${r.status}: ${r.text}`);
  return (r.body as { tickets: { ticket: Ticket }[] }).tickets.map((x) => x.ticket);
}

/** The settle requests the kiosk published, by requestId. */
export function publishedSettles(h: TestHost): Map<string, string> {
  const sent = new Map<string, string>();
  h.host.link.on('published', (p) => {
    if ((JSON.parse(p.body) as { type: string }).type === 'settle') sent.set(p.id, p.body);
  });
  return sent;
}

/** Takes the phone out of the field the moment the kiosk starts settling (a customer who walks off mid-sale); resolves then. */
export function pullWhenSettling(h: KioskHost, phone: SimulatedPhone): Promise<void> {
  return new Promise<void>((resolve) => {
    const onTransition = (t: { to: string }) => {
      if (t.to !== 'settling') return;
      h.program.machine.off('transition', onTransition);
      phone.remove();
      h.sim.chip!.field.remove(phone);
      resolve();
    };
    h.program.machine.on('transition', onTransition);
  });
}

export const idleAgain = (h: KioskHost) => eventually('kiosk idle', () => h.program.machine.state === 'idle');
