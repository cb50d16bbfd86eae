/** The demo station (stations/demo.yaml) in this process on a temp data dir and ephemeral ports, as `tapsettle start` wires it. */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { generateSigningKeyPair } from '../../../protocol/index.ts';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import type { GatewayKeys } from '../../../gateway/gateway.ts';
import { startStation } from '../../../cli/commands/start-station.ts';
import type { RunningStation } from '../../../cli/commands/start-station.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';

export const newKeys = (): GatewayKeys => ({ issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32), ticketIssuer: generateSigningKeyPair('issuer-station-test') });

/** Starts the station on `data` (a fresh temp dir unless given) with `keys` (fresh unless given: a restart passes the same). */
export async function startTestStation(o: { data?: string; keys?: GatewayKeys; stationFile?: string } = {}): Promise<RunningStation & { data: string; keys: GatewayKeys; cleanup: () => void }> {
  const t = o.data === undefined ? tempDir('tapsettle-station-') : null;
  const data = o.data ?? t!.dir;
  const keys = o.keys ?? newKeys();
  const config = parseGatewayConfig({ data, mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } });
  try {
    const running = await startStation({ config, keys, logger: pino({ level: 'silent' }), deviceLogLevel: 'silent', ...(o.stationFile !== undefined ? { stationFile: o.stationFile } : {}) });
    return Object.assign(running, { data, keys, cleanup: () => t?.cleanup() });
  } catch (err) {
    t?.cleanup();
    throw err;
  }
}

/** Polls `check` until it is true (bounded). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
