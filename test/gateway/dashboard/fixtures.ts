/**
 * A demo gateway in this process with the dashboard on its HTTP port and,
 * optionally, the real simulated station (`tapsettle start`'s wiring:
 * stations/demo.yaml, every device a real host on simulated parts).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { generateSigningKeyPair } from '../../../protocol/index.ts';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import { registerDashboard } from '../../../gateway/dashboard/routes.ts';
import type { Dashboard } from '../../../gateway/dashboard/routes.ts';
import type { DashboardLimits } from '../../../gateway/dashboard/limits.ts';
import type { StationView } from '../../../gateway/dashboard/station-view.ts';
import { ResultHub, hubSink } from '../../../gateway/http/result-hub.ts';
import { startHttp } from '../../../gateway/http/server.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';
import { startGateway } from '../../../gateway/gateway.ts';
import type { RunningGateway } from '../../../gateway/gateway.ts';
import { defaultStationFile, startStation } from '../../../cli/commands/start-station.ts';
import { loadStationFile } from '../../../sim/station/station-file.ts';
import type { SimulatedStation } from '../../../sim/station/station.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';

const demoStation = loadStationFile(defaultStationFile);
const fare = demoStation.configs['gate-exit-1']!.fareTable!.fares.find((f) => f.from === 'central' && f.to === 'harbour')!;
/** What an entry at gate-entry-1 (central) and an exit at gate-exit-1 (harbour) costs, from the demo station file. */
export const exitFareMinor = fare.fareMinor;
/** What an exit without a verified entry costs (the TfL rule). */
export const maxFareMinor = demoStation.configs['gate-exit-1']!.fareTable!.maxFareMinor;
/** The vending machine's default slot (A1) price, from the demo station file. */
export const colaPriceMinor = demoStation.configs['vending-1']!.catalog!.find((c) => c.slot === 'A1')!.price.minor;

export interface DashboardGateway {
  gw: RunningGateway;
  station: SimulatedStation | null;
  /** The dashboard page's URL. */
  url: string;
  close(): Promise<void>;
}

export async function startDashboardGateway(o: { station: boolean }): Promise<DashboardGateway> {
  const t = tempDir('tapsettle-dash-');
  const config = parseGatewayConfig({ data: join(t.dir, 'gateway'), mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } });
  const keys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32), ticketIssuer: generateSigningKeyPair('issuer-dashboard-test') };
  try {
    if (o.station) {
      const running = await startStation({ config, keys, logger: pino({ level: 'silent' }), deviceLogLevel: 'silent' });
      return { gw: running.gw, station: running.station, url: running.dashboard, close: async () => { await running.close(); t.cleanup(); } };
    }
    const gw = await startGateway(config, keys);
    return { gw, station: null, url: `${gw.urls.http}/dashboard`, close: async () => { await gw.close(); t.cleanup(); } };
  } catch (err) {
    t.cleanup();
    throw err;
  }
}

/** A second HTTP server on the same gateway carrying a dashboard with its own limits (and a station, if given): its handle lets a test reach into the feed and the streams. */
export async function extraDashboard(gw: RunningGateway, limits: Partial<DashboardLimits>, station?: StationView): Promise<{ url: string; dash: Dashboard; close: () => Promise<void> }> {
  let dash: Dashboard | null = null;
  const hub = new ResultHub();
  const http = await startHttp({
    core: gw.core, hub, codes: gw.codes, metrics: new GatewayMetrics({ defaultMetrics: false }), sink: hubSink(hub, () => Promise.resolve()),
    online: () => gw.broker.online(), port: 0, host: '127.0.0.1',
    routes: (app) => void (dash = registerDashboard(app, { broker: gw.broker, core: gw.core, limits, ...(station ? { station } : {}) })),
  });
  return { url: http.url, dash: dash!, close: () => http.close() };
}
