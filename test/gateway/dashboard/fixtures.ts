/** A demo gateway in this process with the dashboard on its HTTP port and, optionally, the test station. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseGatewayConfig } from '../../../gateway/config.ts';
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
