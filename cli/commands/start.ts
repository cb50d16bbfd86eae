/**
 * `tapsettle start` — a whole simulated station in one process: the gateway
 * (broker, bridge, core on <data>/tapsettle.db, wallet API, admin HTTP, the
 * dashboard) with a demo seed on the first run, and the station file's
 * devices (real device hosts on simulated parts) and phones
 * (start-station.ts). `tapsettle gateway` — the gateway alone, without the
 * demo. Ctrl-C (SIGINT) or SIGTERM shuts down cleanly: stop taking work,
 * drain, close the stores.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadGatewayConfig } from '../../gateway/config.ts';
import type { GatewayConfig } from '../../gateway/config.ts';
import type { RunningGateway } from '../../gateway/gateway.ts';
import type { GlobalOptions } from '../context.ts';
import { ensureKeys, loadKeys } from '../keys.ts';
import { CliError, exitCodes, parseIntArg } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

interface StartOptions {
  config?: string;
  station?: string;
  mqttPort?: string;
  httpPort?: string;
}

function configFor(g: GlobalOptions, o: StartOptions, demo: boolean): GatewayConfig {
  const explicit = o.config !== undefined;
  const config = loadGatewayConfig(o.config ?? 'tapsettle.yaml', explicit);
  const dataGiven = process.argv.some((a) => a === '--data' || a.startsWith('--data='));
  const data = dataGiven || !explicit ? g.data : config.data;
  return {
    ...config,
    data,
    demo: demo && config.demo,
    mqtt: { ...config.mqtt, ...(o.mqttPort !== undefined ? { port: parseIntArg('--mqtt-port', o.mqttPort, 0, 65535) } : {}) },
    http: { ...config.http, ...(o.httpPort !== undefined ? { port: parseIntArg('--http-port', o.httpPort, 0, 65535) } : {}) },
  };
}

function describe(gw: RunningGateway): string {
  const lines = [
    'tapsettle gateway is up',
    `  MQTT           ${gw.urls.mqtt}`,
    ...(gw.urls.mqtts ? [`  MQTT over TLS  ${gw.urls.mqtts}`] : []),
    ...(gw.urls.ws ? [`  MQTT over WS   ${gw.urls.ws}`] : []),
    `  wallet API     ${gw.urls.http}/v1/`,
    `  health         ${gw.urls.http}/healthz   metrics ${gw.urls.http}/metrics`,
    `  ledger         ${gw.paths.ledger}`,
  ];
  if (gw.demo) lines.push(`  demo station seeded: ${gw.demo.devices.length} devices, ${gw.demo.wallets.length} wallets; credentials in ${gw.paths.credentials}`);
  lines.push('Ctrl-C to stop.');
  return lines.join('\n');
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function serve(g: GlobalOptions, o: StartOptions, demo: boolean): Promise<number> {
  const config = configFor(g, o, demo);
  const keysPath = g.keys ?? join(config.data, 'keys.json');
  ensureKeys(keysPath);
  // Loaded here, not at the top: every other command stays free of the broker and HTTP stacks.
  const { startGateway } = await import('../../gateway/gateway.ts');
  const gw = await startGateway(config, loadKeys(keysPath));
  process.stdout.write(`${g.json ? JSON.stringify({ urls: gw.urls, paths: gw.paths, demo: gw.demo !== null }) : describe(gw)}\n`);
  await untilSignal();
  process.stderr.write('stopping: draining and closing …\n');
  await gw.close();
  return exitCodes.ok;
}

async function serveStation(g: GlobalOptions, o: StartOptions): Promise<number> {
  const config = configFor(g, o, true);
  const keysPath = g.keys ?? join(config.data, 'keys.json');
  ensureKeys(keysPath);
  const stopped = untilSignal();
  const { startStation, stationInfoPath } = await import('./start-station.ts');
  let running;
  try {
    running = await startStation({ config, keys: loadKeys(keysPath), ...(o.station !== undefined ? { stationFile: o.station } : {}) });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'TS_ERR_STATION_FILE') throw new CliError(code, (err as Error).message, exitCodes.usage);
    throw err;
  }
  const { gw, station, dashboard } = running;
  if (g.json) {
    process.stdout.write(`${JSON.stringify({ dashboard, urls: gw.urls, paths: { ...gw.paths, station: stationInfoPath(config.data) }, devices: station.devices().map((d) => d.id), phones: station.phones().map((p) => p.name) })}\n`);
  } else {
    const money = (minor: number) => (minor / 100).toFixed(2);
    process.stdout.write([
      describe(gw).replace(/\nCtrl-C to stop\.$/, ''),
      `station "${station.file.name}": ${station.devices().map((d) => `${d.id} (${d.role})`).join(', ')}`,
      `  phones         ${station.phones().map((p) => `${p.name} ${money(p.balance.minor)} ${p.balance.currency}`).join(', ')}`,
      `  try            tapsettle sim tap --phone ${station.phones()[0]?.name ?? 'Ada'} --device ${station.devices()[0]?.id ?? 'gate-entry-1'}`,
      '',
      `  dashboard      ${dashboard}`,
      'Ctrl-C to stop.',
    ].join('\n') + '\n');
  }
  await stopped;
  process.stderr.write('stopping: devices, then draining and closing the gateway …\n');
  await running.close();
  return exitCodes.ok;
}

export function startCommands(program: Command, run: Run): void {
  const common = (c: Command) => c
    .option('--config <file>', 'gateway config (YAML); default ./tapsettle.yaml if it exists')
    .option('--mqtt-port <port>', 'MQTT TCP port (0 = any free port)')
    .option('--http-port <port>', 'wallet API and admin HTTP port (0 = any free port)');

  common(program.command('start').description('run a whole simulated station in one process: gateway, core, dashboard, and the station file\'s devices and phones'))
    .option('--station <file>', 'the station file (YAML); default stations/demo.yaml')
    .action((o: StartOptions) => run((g) => serveStation(g, o)));

  common(program.command('gateway').description('run the gateway (broker, settlement bridge, core, wallet API, admin HTTP) without the demo seed'))
    .action((o: StartOptions) => run((g) => serve(g, o, false)));
}


