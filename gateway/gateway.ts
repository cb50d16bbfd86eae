/**
 * One gateway process (DESIGN §2): the broker, the settlement bridge, the
 * core on the embedded SQLite ledger, the wallet API and admin HTTP, wired
 * together from one validated config. `startGateway` brings them up in
 * dependency order; `close` takes them down in reverse: stop taking work,
 * drain what was accepted, close the stores.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { topics } from '../protocol/index.ts';
import type { SigningKeyPair } from '../protocol/index.ts';
import { PgLedgerStore, SettlementCore, SqliteLedgerStore } from '../settlement-core/index.ts';
import type { LedgerStore } from '../settlement-core/index.ts';
import type { IssuerPublicKey } from '../settlement-core/emoney/index.ts';
import { evenDirectory, openShardedStore } from '../settlement-core/store/sharded/index.ts';
import { CardBridge } from './bridge/card-bridge.ts';
import { SettlementBridge } from './bridge/settlement-bridge.ts';
import { startBroker } from './broker/broker.ts';
import type { GatewayBroker } from './broker/broker.ts';
import type { GatewayConfig } from './config.ts';
import { registerDashboard } from './dashboard/routes.ts';
import type { StationView } from './dashboard/station-view.ts';
import { seedDemo } from './demo-seed.ts';
import { publishDeviceConfigs } from './device-configs.ts';
import type { DemoCredentials } from './demo-seed.ts';
import { DeviceRegistry } from './devices/registry.ts';
import { revocationScanMsDefault, watchRevocations } from './devices/revocation-watch.ts';
import { EnrollmentCodes } from './http/enrollment-codes.ts';
import { ResultHub, hubSink, resultConcernsWallet } from './http/result-hub.ts';
import { startHttp } from './http/server.ts';
import { CardProcessor, cardLogPath, deriveCardLogKey, registerCardRoutes } from './cards/index.ts';
import type { IssuerClientLimits, ReversalLimits } from './cards/index.ts';
import { registerCardAdminRoutes } from './http/card-admin.ts';
import { loadIssuerSecrets } from '../settlement-core/cards/index.ts';
import type { HttpServer } from './http/server.ts';
import { GatewayMetrics } from './metrics.ts';

/** How often <data>/device-configs/ is scanned for newer versions: a pushed config reaches devices within this. */
export const deviceConfigScanMs = 5000;

export interface GatewayKeys {
  issuerMasterKey: Buffer;
  deviceMasterKey: Buffer;
  /** Claims 15–16: the core signs tickets with it; without it ticket requests are declined `ticket-unavailable`. */
  ticketIssuer?: SigningKeyPair;
  /** Issuer keys rotated out (`tapsettle keys rotate-issuer`): e-money tokens they signed are still deposited; devices get them too. */
  retiredTicketIssuers?: IssuerPublicKey[];
}

export interface RunningGateway {
  core: SettlementCore;
  registry: DeviceRegistry;
  broker: GatewayBroker;
  bridge: SettlementBridge;
  /** Claim 36: the card processing apparatus (null without `cards:` in the config) and the bridge that takes devices' card messages. */
  cards: CardProcessor | null;
  cardBridge: CardBridge;
  http: HttpServer;
  hub: ResultHub;
  codes: EnrollmentCodes;
  metrics: GatewayMetrics;
  /** The ticket issuer's public key; null without an issuer key. */
  issuerPublicKey: { keyId: string; publicKey: string } | null;
  /** For device configs (`keys.issuer`): the current issuer key, then the retired ones; empty without an issuer key. */
  issuerPublicKeys: IssuerPublicKey[];
  /** Set on the first run of a demo station. */
  demo: DemoCredentials | null;
  urls: { mqtt: string; mqtts?: string; ws?: string; http: string };
  paths: { ledger: string; registry: string; credentials: string; deviceConfigs: string };
  close(): Promise<void>;
}

export interface GatewayStartOptions {
  /** A simulated station in this process: the dashboard shows its phones and buttons (docs/dashboard.md). */
  station?: StationView;
  /** Limits of the card processing apparatus beyond the config's defaults (tests, embedders): the issuer line and reversals. */
  cardLimits?: { client?: Partial<IssuerClientLimits>; reversals?: Partial<ReversalLimits> };
  /** How often connected devices are checked against the registry for a revoke or re-key (default revocationScanMsDefault). */
  revocationScanMs?: number;
}

export async function startGateway(config: GatewayConfig, keys: GatewayKeys, logger: Logger = pino({ level: config.log.level }), options: GatewayStartOptions = {}): Promise<RunningGateway> {
  mkdirSync(config.data, { recursive: true });
  const paths = {
    ledger: join(config.data, 'tapsettle.db'),
    registry: join(config.data, 'gateway.db'),
    credentials: join(config.data, 'demo-credentials.json'),
    deviceConfigs: join(config.data, 'device-configs'),
  };
  const opened: { close(): unknown }[] = [];
  const closeOpened = async () => {
    for (const part of opened.reverse()) await part.close();
  };
  try {
    const registry = DeviceRegistry.open({ path: paths.registry, deviceMasterKey: keys.deviceMasterKey });
    opened.push(registry);
    const metrics = new GatewayMetrics();
    // A device the registry does not know gets its results tagged under a key nobody holds.
    const unknownDeviceKey = randomBytes(32);
    const core = await SettlementCore.open({
      store: openLedgerStore(config, paths.ledger),
      issuerMasterKey: keys.issuerMasterKey,
      ...(keys.ticketIssuer ? { ticketIssuer: { keyId: keys.ticketIssuer.keyId, pair: keys.ticketIssuer } } : {}),
      ...(keys.retiredTicketIssuers ? { retiredIssuerKeys: keys.retiredTicketIssuers } : {}),
      deviceKey: (id) => registry.deviceKey(id) ?? unknownDeviceKey,
      limits: stripUndefined(config.core),
      onBatch: metrics.observeBatch,
      onFatal: (err) => {
        logger.fatal({ err: err.message }, 'settlement core stopped on a broken invariant; run `tapsettle ledger audit`');
        process.exitCode = 70;
      },
    });
    opened.push(core);
    metrics.watchCore(core);
    const demo = config.demo ? await seedDemo(core, registry, config.currency, paths.credentials) : null;
    if (!demo) await core.initCurrency(config.currency);

    const readPem = (path: string) => readFileSync(path);
    const broker = await startBroker({
      registry,
      host: config.mqtt.host,
      tcp: { port: config.mqtt.port },
      ...(config.mqtt.tls ? { tls: { port: config.mqtt.tls.port, key: readPem(config.mqtt.tls.key), cert: readPem(config.mqtt.tls.cert) } } : {}),
      ...(config.mqtt.ws ? { ws: { port: config.mqtt.ws.port } } : {}),
      ...(config.mqtt.redisUrl ? { redisUrl: config.mqtt.redisUrl } : {}),
      logger: logger.child({ part: 'broker' }),
      observe: { breach: (action) => metrics.aclBreach(action), rejected: (reason) => metrics.rejectedMessage(reason) },
    });
    opened.push(broker);
    metrics.setConnections(() => broker.stats().connections);
    const configLog = logger.child({ part: 'device-configs' });
    await publishDeviceConfigs(paths.deviceConfigs, broker, configLog);
    const scan = setInterval(() => void publishDeviceConfigs(paths.deviceConfigs, broker, configLog), deviceConfigScanMs);
    scan.unref();
    opened.push({ close: () => clearInterval(scan) });
    // `tapsettle devices revoke` writes the registry from another process: a device it revokes or re-keys is cut off here.
    const revokeLog = logger.child({ part: 'revocations' });
    const revocations = watchRevocations({
      record: (id) => registry.get(id), connected: () => broker.connectedDevices(), disconnect: (id) => broker.disconnect(id),
      scanMs: options.revocationScanMs ?? revocationScanMsDefault,
      onCut: (deviceId, why) => revokeLog.warn({ deviceId, why }, 'device disconnected: no longer admitted by the registry'),
      onError: (err) => revokeLog.error({ err }, 'revocation scan failed; tried again at the next scan'),
    });
    opened.push({ close: () => revocations.stop() });

    const hub = new ResultHub();
    const codes = new EnrollmentCodes({ path: join(config.data, 'enrollment.db') });
    opened.push(codes);
    const bridge = new SettlementBridge({
      core, broker, log: logger.child({ part: 'bridge' }),
      wallets: { publish: (walletId, json, result) => { if (resultConcernsWallet(result)) hub.publish(walletId, json); } },
      observe: (e) => { if (e.channel === 'settle') metrics.observeSettle(e.status === 'dropped' ? 'unreadable' : e.status as 'approved' | 'declined', e.reason, e.ms / 1000); },
    });
    metrics.watchSequences(bridge.sequences);
    bridge.start();
    opened.push({ close: () => bridge.stop() });

    let cards: CardProcessor | null = null;
    if (config.cards) {
      cards = new CardProcessor({
        issuerUrl: config.cards.issuerUrl,
        acquirerToken: loadIssuerSecrets(config.cards.secretsFile).acquirerToken,
        logPath: cardLogPath(config.data),
        fingerprintKey: deriveCardLogKey(keys.issuerMasterKey),
        ledger: core,
        logger: logger.child({ part: 'cards' }),
        ...(options.cardLimits?.client ? { clientLimits: options.cardLimits.client } : {}),
        ...(options.cardLimits?.reversals ? { reversalLimits: options.cardLimits.reversals } : {}),
      });
      const processor = cards;
      opened.push({ close: () => processor.close() });
    }
    const processor = cards;
    // Card messages from devices (claim 36 at a device); without `cards:` each is refused TS_ERR_CARD_UNAVAILABLE. The merchant is the ledger's record of the device.
    const cardBridge = new CardBridge({
      broker, processor, log: logger.child({ part: 'card-bridge' }),
      device: (id) => core.store.getDevice(id),
      deviceKey: (id) => registry.deviceKey(id) ?? unknownDeviceKey,
    });
    cardBridge.start();
    opened.push({ close: () => cardBridge.stop() });
    const http = await startHttp({
      core, hub, codes, metrics,
      sink: hubSink(hub, (deviceId, json) => broker.publish(topics.result(deviceId), json, { qos: 1, retain: false })),
      online: () => broker.online(),
      port: config.http.port,
      host: config.http.host,
      ...(config.http.tls ? { tls: { key: readPem(config.http.tls.key), cert: readPem(config.http.tls.cert) } } : {}),
      ...(config.http.adminToken !== undefined ? { adminToken: config.http.adminToken } : {}),
      routes: (app) => {
        if (processor !== null) {
          registerCardRoutes(app, { core, processor });
          // Operators list and reverse card sales; these always need the admin token (403 on a gateway without one).
          registerCardAdminRoutes(app, { processor, ...(config.http.adminToken !== undefined ? { adminToken: config.http.adminToken } : {}) });
        }
        void registerDashboard(app, { broker, core, station: options.station, log: logger.child({ part: 'dashboard' }) });
      },
    });
    opened.push(http);

    const host = (h: string) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h);
    const urls = {
      mqtt: `mqtt://${host(config.mqtt.host)}:${broker.ports.tcp}`,
      ...(broker.ports.tls !== undefined ? { mqtts: `mqtts://${host(config.mqtt.host)}:${broker.ports.tls}` } : {}),
      ...(broker.ports.ws !== undefined ? { ws: `ws://${host(config.mqtt.host)}:${broker.ports.ws}/mqtt` } : {}),
      http: http.url,
    };
    const issuerPublicKey = keys.ticketIssuer ? { keyId: keys.ticketIssuer.keyId, publicKey: keys.ticketIssuer.publicKey } : null;
    const issuerPublicKeys = issuerPublicKey ? [issuerPublicKey, ...(keys.retiredTicketIssuers ?? [])] : [];
    return { core, registry, broker, bridge, cards: processor, cardBridge, http, hub, codes, metrics, issuerPublicKey, issuerPublicKeys, demo, urls, paths, close: closeOpened };
  } catch (err) {
    await closeOpened();
    throw err;
  }
}

/** The ledger store the config names (docs/operations.md, "Moving to PostgreSQL"). */
function openLedgerStore(config: GatewayConfig, sqlitePath: string): LedgerStore {
  const s = config.store;
  switch (s.kind) {
    case 'sqlite':
      return new SqliteLedgerStore({ path: sqlitePath });
    case 'postgres':
      return new PgLedgerStore({ connectionString: s.url, schema: s.schema, ...(s.poolSizeMax !== undefined ? { poolSizeMax: s.poolSizeMax } : {}) });
    case 'sharded':
      return openShardedStore({
        servers: s.servers.map((v) => (v.kind === 'sqlite' ? { kind: 'sqlite' as const, path: resolve(config.data, v.path), ...(v.thread === true ? { thread: true } : {}) } : { kind: 'postgres' as const, connectionString: v.url, schema: v.schema })),
        directoryPath: join(config.data, 'directory.db'),
        directory: evenDirectory(s.servers.length),
      });
  }
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };
}
