/**
 * In-process station for host tests: a real gateway (broker, core, SQLite in
 * a temp dir, demo seed) on ephemeral ports, hosts started through the same
 * startHost the CLI uses, with simulated parts, and simulated phones for the
 * demo wallets. Retained device configs are published through the broker.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { topics, uuidv7 } from '../../protocol/index.ts';
import type { DeviceConfig } from '../../protocol/index.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/gateway.ts';
import type { GatewayKeys, RunningGateway } from '../../gateway/gateway.ts';
import type { DemoCredentials } from '../../gateway/demo-seed.ts';
import { parseDeviceFile } from '../../firmware-hosts/runtime/host-kind.ts';
import type { HostKind } from '../../firmware-hosts/runtime/host-kind.ts';
import { startHost } from '../../firmware-hosts/runtime/host.ts';
import type { RunningHost } from '../../firmware-hosts/runtime/host.ts';
import { seededRandom } from '../../firmware-hosts/runtime/backoff.ts';
import { SimulatedPhone } from '../../sim/phone/phone.ts';
import { openSimParts } from '../../sim/station/sim-parts.ts';
import type { SimHandles } from '../../sim/station/sim-parts.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

export interface TestStation {
  gw: RunningGateway;
  demo: DemoCredentials;
  dir: string;
  mqttUrl: string;
  keys: GatewayKeys;
  /** Publishes a retained config for a device (version defaults to a fresh increasing number). */
  pushConfig(deviceId: string, body: Omit<DeviceConfig, 'v' | 'type' | 'requestId' | 'sentAt' | 'deviceId' | 'version' | 'merchant'> & { version?: number }): Promise<DeviceConfig>;
  /** A simulated phone for demo wallet `name` (Ada, Ben, Cleo, Dev, Eve). */
  phone(name: string): Promise<SimulatedPhone>;
  balance(name: string): Promise<number>;
  close(): Promise<void>;
}

let versions = 0;

export async function startTestStation(options: { gatewayData?: string; mqttPort?: number; keys?: Partial<GatewayKeys> } = {}): Promise<TestStation> {
  const t = tempDir('tapsettle-hosts-');
  const keys: GatewayKeys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32), ...options.keys };
  const gw = await startGateway(parseGatewayConfig({ data: options.gatewayData ?? join(t.dir, 'gw'), mqtt: { port: options.mqttPort ?? 0 }, http: { port: 0 }, log: { level: 'silent' } }), keys);
  const demo = gw.demo!;
  const mqttUrl = `mqtt://127.0.0.1:${new URL(gw.urls.mqtt).port}`;
  const phones: SimulatedPhone[] = [];
  return {
    gw, demo, dir: t.dir, mqttUrl, keys,
    async pushConfig(deviceId, body) {
      versions += 1;
      const { version, ...rest } = body;
      const config: DeviceConfig = { v: 1, type: 'config', requestId: uuidv7(), sentAt: Date.now(), deviceId, version: version ?? versions, merchant: demo.merchant, ...rest };
      await gw.broker.publish(topics.config(deviceId), JSON.stringify(config), { qos: 1, retain: true });
      return config;
    },
    async phone(name) {
      const w = demo.wallets.find((x) => x.name === name);
      if (!w) throw new Error(`no demo wallet ${name}`);
      const phone = await SimulatedPhone.open({ walletId: w.walletId, walletKey: Buffer.from(w.walletKey, 'base64') });
      phones.push(phone);
      return phone;
    },
    async balance(name) {
      const w = demo.wallets.find((x) => x.name === name)!;
      return (await gw.core.store.getAccount(w.account))!.balance;
    },
    async close() {
      await gw.close();
      t.cleanup();
    },
  };
}

export interface TestHost {
  host: RunningHost;
  sim: SimHandles;
  dataDir: string;
}

/** Starts a host of `kind` for demo device `deviceId` with simulated parts. `file` is the device file minus device/gateway/dataDir. */
export async function startTestHost<C>(station: TestStation, kind: HostKind<C>, deviceId: string, file: Record<string, unknown>, options: { dataDir?: string; timing?: boolean } = {}): Promise<TestHost> {
  const secret = station.demo.devices.find((d) => d.id === deviceId)!.secret;
  const dataDir = options.dataDir ?? join(station.dir, `dev-${deviceId}-${(versions += 1)}`);
  const parsed = parseDeviceFile(kind, {
    device: { id: deviceId, kind: kind.kind, secret },
    gateway: { url: station.mqttUrl },
    dataDir,
    log: { level: 'silent' },
    ...file,
  }, join(station.dir, `${deviceId}.yaml`));
  const { parts, sim } = await openSimParts(parsed.parts, { timing: options.timing === true });
  const host = await startHost({
    file: parsed, parts, program: (ctx) => kind.program(ctx), logger: pino({ level: 'silent' }),
    link: { backoff: { minMs: 20, maxMs: 200 }, random: seededRandom(11) },
  });
  return { host, sim, dataDir };
}

/** Resolves when the host's link is up and it has applied a config of at least `version`. */
export async function ready(h: TestHost, version = 1, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(h.host.link.connected && h.host.link.outbox.configVersion >= version)) {
    if (Date.now() > until) throw new Error(`host ${h.host.deviceId} not ready (connected ${h.host.link.connected}, config ${h.host.link.outbox.configVersion})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Polls `check` until it is true (bounded): for physical effects that follow a result. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
