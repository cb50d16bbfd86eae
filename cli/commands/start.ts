/**
 * `tapsettle start` — the embedded station in one process: broker, bridge,
 * core on <data>/tapsettle.db, wallet API and admin HTTP, with a demo seed on
 * the first run. `tapsettle gateway` — the same gateway without the demo.
 * Ctrl-C (SIGINT) or SIGTERM shuts down cleanly: stop taking work, drain,
 * close the stores.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadGatewayConfig } from '../../gateway/config.ts';
import type { GatewayConfig } from '../../gateway/config.ts';
import type { RunningGateway } from '../../gateway/gateway.ts';
import type { GlobalOptions } from '../context.ts';
import { ensureKeys, loadKeys } from '../keys.ts';
import { exitCodes, parseIntArg } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

interface StartOptions {
  config?: string;
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

async function serve(g: GlobalOptions, o: StartOptions, demo: boolean): Promise<number> {
  const config = configFor(g, o, demo);
  const keysPath = g.keys ?? join(config.data, 'keys.json');
  ensureKeys(keysPath);
  // Loaded here, not at the top: every other command stays free of the broker and HTTP stacks.
  const { startGateway } = await import('../../gateway/gateway.ts');
  const gw = await startGateway(config, loadKeys(keysPath));
  process.stdout.write(`${g.json ? JSON.stringify({ urls: gw.urls, paths: gw.paths, demo: gw.demo !== null }) : describe(gw)}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('stopping: draining and closing …\n');
  await gw.close();
  return exitCodes.ok;
}

export function startCommands(program: Command, run: Run): void {
  const common = (c: Command) => c
    .option('--config <file>', 'gateway config (YAML); default ./tapsettle.yaml if it exists')
    .option('--mqtt-port <port>', 'MQTT TCP port (0 = any free port)')
    .option('--http-port <port>', 'wallet API and admin HTTP port (0 = any free port)');

  common(program.command('start').description('run a whole station in one process: gateway, core, wallet API, admin HTTP, demo seed on first run'))
    .action((o: StartOptions) => run((g) => serve(g, o, true)));

  common(program.command('gateway').description('run the gateway (broker, settlement bridge, core, wallet API, admin HTTP) without the demo seed'))
    .action((o: StartOptions) => run((g) => serve(g, o, false)));
}


