/**
 * The wiring of `tapsettle start`: the gateway with the simulated station of
 * a station file (sim/station/) in one process. The station is created
 * first (the gateway's dashboard takes it), the gateway is started (broker,
 * core, demo seed on the first run), the station's retained configs are
 * placed in the gateway's device-configs directory (so the gateway publishes
 * them again after every restart), then the station's devices and phones
 * start. <data>/station.json tells `tapsettle sim tap` where the running
 * station is.
 *
 * Used by the CLI and, in-process, by the tests.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { DeviceConfig } from '../../protocol/index.ts';
import { uuidv7 } from '../../protocol/index.ts';
import type { GatewayConfig } from '../../gateway/config.ts';
import type { DemoCredentials } from '../../gateway/demo-seed.ts';
import { DeviceConfigError, parseDeviceConfigFile, placeDeviceConfig, publishDeviceConfigs } from '../../gateway/device-configs.ts';
import { startGateway } from '../../gateway/gateway.ts';
import type { GatewayKeys, RunningGateway } from '../../gateway/gateway.ts';
import { StationError } from '../../sim/station/errors.ts';
import { sameContent, stationConfigs } from '../../sim/station/station-configs.ts';
import type { ConfigContent } from '../../sim/station/station-configs.ts';
import { writePrivateFile } from '../../sim/station/station-data.ts';
import { loadStationFile } from '../../sim/station/station-file.ts';
import { SimulatedStation } from '../../sim/station/station.ts';

/** The station `npm start` runs when no --station is given. */
export const defaultStationFile = fileURLToPath(new URL('../../stations/demo.yaml', import.meta.url));

/** Where a running station says where it is: `tapsettle sim tap` reads it. */
export const stationInfoPath = (data: string): string => join(data, 'station.json');

export const StationInfo = z.strictObject({
  v: z.literal(1),
  pid: z.number().int().min(1),
  name: z.string().max(80),
  http: z.string().regex(/^https?:\/\/[^\s]+$/),
  dashboard: z.string().regex(/^https?:\/\/[^\s]+$/),
  startedAt: z.string().max(40),
});
export type StationInfo = z.infer<typeof StationInfo>;

const Credentials = z.object({
  merchant: z.string(),
  devices: z.array(z.object({ id: z.string(), kind: z.string(), role: z.string(), secret: z.string() })),
  wallets: z.array(z.object({ name: z.string(), account: z.string(), walletId: z.string(), walletKey: z.string(), balance: z.number() })),
});

export interface RunningStation {
  gw: RunningGateway;
  station: SimulatedStation;
  dashboard: string;
  info: StationInfo;
  /** Stops the station's devices, then the gateway; removes station.json. */
  close(): Promise<void>;
}

function demoCredentials(gw: RunningGateway): DemoCredentials {
  if (gw.demo) return gw.demo;
  if (!existsSync(gw.paths.credentials)) {
    throw new StationError('TS_ERR_STATION_DATA', `${gw.paths.credentials} is missing: this data directory was not seeded by \`tapsettle start\` (its ledger has a merchant already); use a fresh --data directory`);
  }
  const parsed = Credentials.safeParse(JSON.parse(readFileSync(gw.paths.credentials, 'utf8')));
  if (!parsed.success) throw new StationError('TS_ERR_STATION_DATA', `${gw.paths.credentials}: not the demo credentials the gateway wrote`);
  return parsed.data as DemoCredentials;
}

const contentOf = (c: DeviceConfig): ConfigContent => ({
  deviceId: c.deviceId, merchant: c.merchant, catalog: c.catalog, fareTable: c.fareTable, denyList: c.denyList, keys: c.keys,
});

/**
 * Places each device's config unless the same content is in place already:
 * the first run writes them all; a later run writes only what the station
 * file changed, one version up (at least the clock, so a version is never
 * below one a device applied from an earlier directory).
 */
function placeConfigs(dir: string, contents: readonly ConfigContent[]): string[] {
  const placed: string[] = [];
  for (const content of contents) {
    const path = join(dir, `${content.deviceId}.json`);
    let stored: DeviceConfig | null = null;
    try {
      if (existsSync(path)) stored = parseDeviceConfigFile(path);
    } catch (err) {
      if (!(err instanceof DeviceConfigError)) throw err;
    }
    if (stored !== null && sameContent(contentOf(stored), content)) continue;
    const version = Math.max((stored?.version ?? 0) + 1, Date.now());
    placeDeviceConfig(dir, { v: 1, type: 'config', requestId: uuidv7(), sentAt: Date.now(), version, ...content });
    placed.push(content.deviceId);
  }
  return placed;
}

export interface StartStationOptions {
  config: GatewayConfig;
  keys: GatewayKeys;
  /** The station file (YAML); default stations/demo.yaml. */
  stationFile?: string;
  logger?: Logger;
  /** Log level of the device hosts (they log every transition at info). */
  deviceLogLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export async function startStation(o: StartStationOptions): Promise<RunningStation> {
  const file = loadStationFile(o.stationFile ?? defaultStationFile);
  const logger = o.logger ?? pino({ level: o.config.log.level });
  const station = new SimulatedStation(file, o.config.data);
  const gw = await startGateway({ ...o.config, demo: true }, o.keys, logger, { station });
  try {
    const demo = demoCredentials(gw);
    const contents = stationConfigs(file, { merchant: demo.merchant, currency: o.config.currency, issuers: gw.issuerPublicKeys, gateKeys: station.gateKeys() });
    const placed = placeConfigs(gw.paths.deviceConfigs, contents);
    if (placed.length > 0) logger.info({ devices: placed }, 'station: device configs placed');
    await publishDeviceConfigs(gw.paths.deviceConfigs, gw.broker, logger.child({ part: 'device-configs' }));
    const core = gw.core;
    await station.start({
      mqttUrl: gw.urls.mqtt,
      deviceSecret: (id) => demo.devices.find((d) => d.id === id)?.secret ?? null,
      wallet: (name) => demo.wallets.find((w) => w.name === name) ?? null,
      balance: async (account) => (await core.store.getAccount(account))?.balance ?? 0,
      currency: o.config.currency,
      logger: logger.child({ part: 'station' }, { level: o.deviceLogLevel ?? 'warn' }),
    });
  } catch (err) {
    await station.close();
    await gw.close();
    throw err;
  }
  const dashboard = `${gw.urls.http}/dashboard`;
  const info: StationInfo = { v: 1, pid: process.pid, name: file.name, http: gw.urls.http, dashboard, startedAt: new Date().toISOString() };
  const infoPath = stationInfoPath(o.config.data);
  writePrivateFile(infoPath, `${JSON.stringify(info, null, 2)}\n`);
  let closing: Promise<void> | null = null;
  return {
    gw, station, dashboard, info,
    close: () => (closing ??= (async () => {
      rmSync(infoPath, { force: true });
      await station.close();
      await gw.close();
    })()),
  };
}
