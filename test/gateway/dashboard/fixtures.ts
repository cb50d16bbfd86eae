/** A demo gateway in this process with the dashboard on its HTTP port and, optionally, the test station. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
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
import { tempDir } from '../../settlement-core/fixtures.ts';
import { TestStation } from './test-station.ts';

export interface DashboardGateway {
  gw: RunningGateway;
  station: TestStation | null;
  /** The dashboard page's URL. */
  url: string;
  close(): Promise<void>;
}

export async function startDashboardGateway(o: { station: boolean }): Promise<DashboardGateway> {
  const t = tempDir('tapsettle-dash-');
  const config = parseGatewayConfig({ data: join(t.dir, 'gateway'), mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } });
  const station = o.station ? new TestStation() : null;
  const gw = await startGateway(config, { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) }, undefined, station ? { station } : {});
  try {
    await station?.start(gw.demo!, gw.core, gw.urls.mqtt, join(t.dir, 'devices'));
  } catch (err) {
    await gw.close();
    t.cleanup();
    throw err;
  }
  return {
    gw, station, url: `${gw.urls.http}/dashboard`,
    close: async () => {
      await station?.close();
      await gw.close();
      t.cleanup();
    },
  };
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
