/**
 * Claim 36 at a device, end to end on 127.0.0.1 ephemeral ports: a simulated
 * phone holding a card on a virtual PN532 → the purchase terminal host (card
 * mode) → MQTT → the gateway (broker, card bridge, card processing
 * apparatus, core on SQLite) → the issuer host over HTTP → the ledger. Every
 * log line (gateway, issuer, terminal) is kept at trace level, to be searched
 * for card digits. Between the gateway and the issuer sits a proxy that can
 * hold requests or answers back, for the slow-issuer cases.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { posKind } from '../../firmware-hosts/pos/index.ts';
import type { PosProgram } from '../../firmware-hosts/pos/index.ts';
import { seededRandom } from '../../firmware-hosts/runtime/backoff.ts';
import { parseDeviceFile } from '../../firmware-hosts/runtime/host-kind.ts';
import { startHost } from '../../firmware-hosts/runtime/host.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/gateway.ts';
import type { GatewayKeys, GatewayStartOptions, RunningGateway } from '../../gateway/gateway.ts';
import type { CardData } from '../../protocol/card-data.ts';
import { topics, uuidv7 } from '../../protocol/index.ts';
import type { DeviceConfig } from '../../protocol/index.ts';
import { ensureIssuerSecrets, loadIssuerSecrets, startIssuerHost } from '../../settlement-core/cards/index.ts';
import type { IssuerHost } from '../../settlement-core/cards/index.ts';
import { SimulatedPhone } from '../../sim/phone/phone.ts';
import type { ConsentRequest } from '../../sim/phone/wallet-applet.ts';
import { openSimParts } from '../../sim/station/sim-parts.ts';
import { addCards, capturingLogger, clock } from '../settlement-core/cards/fixtures.ts';
import { tempDir } from '../settlement-core/fixtures.ts';
import { eventually } from './harness.ts';
import type { TestHost } from './harness.ts';

export const catalog = [{ article: 'COFFEE', name: 'Coffee', price: { minor: 250, currency: 'EUR' } }];

/** Holds the issuer's requests (`requestDelayMs`) or its answers (`answerDelayMs`) on /v1/authorizations; reversals pass straight through. */
export interface IssuerProxy {
  url: string;
  requestDelayMs: number;
  answerDelayMs: number;
  close(): Promise<void>;
}

async function startIssuerProxy(target: () => string): Promise<IssuerProxy> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const proxy: IssuerProxy = { url: '', requestDelayMs: 0, answerDelayMs: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void (async () => {
      const held = req.url === '/v1/authorizations';
      if (held) await sleep(proxy.requestDelayMs);
      try {
        const answer = await fetch(`${target()}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' }, body: Buffer.concat(chunks) });
        const body = Buffer.from(await answer.arrayBuffer());
        if (held) await sleep(proxy.answerDelayMs);
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(body);
      } catch {
        req.socket.destroy();
      }
    })());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

export interface CardStation {
  gw: RunningGateway;
  issuer: IssuerHost;
  /** Card number → the issuer's token. */
  tokens: Map<string, string>;
  proxy: IssuerProxy;
  dir: string;
  mqttUrl: string;
  merchant: string;
  paths: { gatewayData: string; issuerDb: string };
  logs: () => string;
  logger: Logger;
  /** A terminal's device secret (the demo pos-1, or one registered with addTerminal). */
  secrets: Map<string, string>;
  /** Registers another purchase terminal of the demo merchant (in the ledger and the broker's registry). */
  addTerminal(id: string): Promise<void>;
  pushConfig(deviceId: string): Promise<DeviceConfig>;
  /** Stops the issuer host (the proxy then finds nobody) or starts it again on the same database. */
  stopIssuer(): Promise<void>;
  restartIssuer(): Promise<void>;
  /** A demo wallet's phone holding `card`; every consent request it is asked is recorded. */
  phone(name: string, card: CardData, o?: { consents?: boolean }): Promise<{ phone: SimulatedPhone; asked: ConsentRequest[] }>;
  close(): Promise<void>;
}

export async function startCardStation(options: { cardLimits?: GatewayStartOptions['cardLimits'] } = {}): Promise<CardStation> {
  const t = tempDir('tapsettle-pos-card-');
  const { logger, text } = capturingLogger();
  const secretsFile = join(t.dir, 'issuer-secrets.json');
  ensureIssuerSecrets(secretsFile);
  const secrets = loadIssuerSecrets(secretsFile);
  const issuerDb = join(t.dir, 'issuer.db');
  const startIssuer = (port: number) => startIssuerHost({ dbPath: issuerDb, pepper: secrets.pepper, acquirerToken: secrets.acquirerToken, port, host: '127.0.0.1', clock, logger });
  let issuer = await startIssuer(0);
  const tokens = addCards(issuer.store);
  const issuerPort = issuer.port;
  const proxy = await startIssuerProxy(() => `http://127.0.0.1:${issuerPort}`);
  const keys: GatewayKeys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) };
  const gatewayData = join(t.dir, 'gw');
  const gw = await startGateway(
    parseGatewayConfig({ data: gatewayData, mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'trace' }, cards: { issuerUrl: proxy.url, secretsFile } }),
    keys, logger, { cardLimits: { client: { timeoutMs: 2_000 }, reversals: { timeoutGraceMs: 1_000, pollMs: 100, retryMs: 200 }, ...options.cardLimits } },
  );
  const demo = gw.demo!;
  const secretsOf = new Map(demo.devices.map((d) => [d.id, d.secret]));
  let versions = 0;
  const station: CardStation = {
    gw, issuer, tokens, proxy, dir: t.dir, mqttUrl: `mqtt://127.0.0.1:${new URL(gw.urls.mqtt).port}`, merchant: demo.merchant,
    paths: { gatewayData, issuerDb }, logs: text, logger, secrets: secretsOf,
    async addTerminal(id) {
      await gw.core.registerDevice({ id, kind: 'pos', merchant: demo.merchant });
      secretsOf.set(id, (await gw.registry.add({ id, kind: 'pos', merchant: demo.merchant })).secret);
    },
    async pushConfig(deviceId) {
      versions += 1;
      const config: DeviceConfig = { v: 1, type: 'config', requestId: uuidv7(), sentAt: Date.now(), deviceId, version: versions, merchant: demo.merchant, catalog };
      await gw.broker.publish(topics.config(deviceId), JSON.stringify(config), { qos: 1, retain: true });
      return config;
    },
    async stopIssuer() {
      await station.issuer.close();
    },
    async restartIssuer() {
      issuer = await startIssuer(issuerPort);
      station.issuer = issuer;
    },
    async phone(name, card, o = {}) {
      const w = demo.wallets.find((x) => x.name === name)!;
      const asked: ConsentRequest[] = [];
      const phone = await SimulatedPhone.open({ walletId: w.walletId, walletKey: Buffer.from(w.walletKey, 'base64'), consent: (r) => (asked.push(r), o.consents ?? true) });
      phone.cards.add(card);
      return { phone, asked };
    },
    async close() {
      await gw.close();
      await proxy.close();
      await station.issuer.close();
      t.cleanup();
    },
  };
  return station;
}

export interface CardPos extends TestHost {
  program: PosProgram;
  shown: string[];
  key(code: string): void;
}

/** A purchase terminal in card mode on simulated parts; its logs go to the station's capturing logger. */
export async function startCardPos(station: CardStation, o: { deviceId?: string; pos?: Record<string, unknown>; dataDir?: string } = {}): Promise<CardPos> {
  const deviceId = o.deviceId ?? 'pos-1';
  const dataDir = o.dataDir ?? join(station.dir, `dev-${deviceId}-${uuidv7()}`);
  const parsed = parseDeviceFile(posKind, {
    device: { id: deviceId, kind: 'pos', secret: station.secrets.get(deviceId)! },
    gateway: { url: station.mqttUrl },
    dataDir,
    log: { level: 'trace' },
    parts: { nfc: { driver: 'sim' }, codeReader: { driver: 'sim' } },
    pos: { mode: 'card', resultShowMs: 300, tapTimeoutMs: 5_000, ...o.pos },
  }, join(station.dir, `${deviceId}.yaml`));
  const { parts, sim } = await openSimParts(parsed.parts, { timing: false });
  const host = await startHost({
    file: parsed, parts, program: (ctx) => posKind.program(ctx), logger: station.logger.child({ device: deviceId }),
    link: { backoff: { minMs: 20, maxMs: 200 }, random: seededRandom(36) },
  });
  const shown: string[] = [];
  const show = sim.display.show.bind(sim.display);
  sim.display.show = (text: string) => {
    shown.push(text);
    show(text);
  };
  const key = (code: string): void => {
    if (!sim.keypad!.scan(code, { keypad: /^[0-9.+\-*/]+$/.test(code) })) throw new Error('keypad not running');
  };
  return { host, sim, dataDir, program: host.program as PosProgram, shown, key };
}

/** Resolves when the terminal is connected and has its config. */
export async function cardPosReady(h: CardPos): Promise<void> {
  await eventually(`${h.host.deviceId} ready`, () => h.host.link.connected && h.host.link.outbox.configVersion >= 1);
}

/** Keys an amount, pays, taps the phone, and waits until the terminal shows a result and is idle again. */
export async function payByCard(h: CardPos, phone: SimulatedPhone, amount: string, o: { pin?: string } = {}): Promise<string> {
  const before = h.shown.length;
  h.key(amount);
  h.key('+');
  await eventually('terminal asks for a phone', () => h.program.machine.state === 'waiting-tap');
  h.sim.chip!.field.place(phone);
  if (o.pin !== undefined) {
    await eventually('terminal asks for the PIN', () => h.program.machine.state === 'entering-pin');
    h.key(o.pin);
  }
  await eventually('terminal shows a result', () => h.program.machine.state === 'showing', 10_000);
  await eventually('terminal back at idle', () => h.program.machine.state === 'idle', 10_000);
  h.sim.chip!.field.remove(phone);
  return h.shown.slice(before).find((s) => /^(APPROVED|DECLINED|NOT PAID|CARD REFUSED|CANCELLED|OUT OF SERVICE)/.test(s)) ?? '(nothing shown)';
}

/** An MQTT client logged in as a device, subscribed to its card-result topic; every message on it is kept. */
export async function rawDevice(station: CardStation, deviceId: string): Promise<{ client: MqttClient; received: Buffer[]; close: () => Promise<void> }> {
  const secret = station.secrets.get(deviceId)!;
  const client = await mqtt.connectAsync(station.mqttUrl, { clientId: deviceId, username: deviceId, password: secret, protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  const received: Buffer[] = [];
  client.on('message', (_topic, payload) => received.push(payload));
  await client.subscribeAsync(topics['card-result'](deviceId), { qos: 1 });
  return { client, received, close: () => client.endAsync() };
}

/** The card receivable account of the currency (what the card scheme owes the ledger). */
export async function receivableBalance(station: CardStation, currency = 'EUR'): Promise<number> {
  const [account] = (await station.gw.core.store.listAccounts({ kind: 'card-receivable', limit: 10 })).filter((a) => a.currency === currency);
  return account!.balance;
}

export async function merchantBalance(station: CardStation): Promise<number> {
  return (await station.gw.core.store.getAccount(station.merchant))!.balance;
}
