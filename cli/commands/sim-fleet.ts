/**
 * `tapsettle sim fleet <scenario>`: the fleet simulator (docs/fleet.md). A
 * gateway in this process, N real device hosts of each kind on simulated
 * parts, seeded phones, the scenario's taps, events and faults; a progress bar
 * on a terminal and a summary at the end (`--json` for scripts). The exit
 * code says whether the ledger audit passed and every approved settlement
 * moved money exactly once.
 *
 * The gateway is started here (cli wires everything, DESIGN §3) and handed to
 * the simulator as an interface; the benchmark and the tests use the same
 * starter.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import type { SigningKeyPair } from '../../protocol/index.ts';
import type { FleetGateway } from '../../sim/fleet/gateway-port.ts';
import type { FleetEvent, MessageFaults, Scenario } from '../../sim/fleet/scenario.ts';
import type { GlobalOptions } from '../context.ts';
import { CliError, exitCodes, parseIntArg, print } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

/** The real gateway (broker, core on SQLite, registry) for a fleet: data under `dir`, MQTT on 127.0.0.1, fresh master keys. */
export async function startEmbeddedFleetGateway(dir: string, ticketIssuer: SigningKeyPair): Promise<FleetGateway> {
  const { parseGatewayConfig } = await import('../../gateway/config.ts');
  const { startGateway } = await import('../../gateway/gateway.ts');
  const keys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32), ticketIssuer };
  const config = (port: number) => parseGatewayConfig({ data: join(dir, 'gateway'), demo: false, mqtt: { port }, http: { port: 0 }, log: { level: 'silent' } });
  const log = pino({ level: 'silent' });
  let gw = await startGateway(config(0), keys, log);
  const mqttPort = Number(new URL(gw.urls.mqtt).port);
  let closed = false;
  return {
    get gw() {
      return gw;
    },
    mqttPort,
    async restart(awayMs) {
      await gw.close();
      if (awayMs > 0) await new Promise((r) => setTimeout(r, awayMs));
      if (closed) return;
      gw = await startGateway(config(mqttPort), keys, log);
    },
    async close() {
      closed = true;
      await gw.close();
    },
  };
}

interface FleetCliOptions {
  seed?: string;
  devices?: string;
  taps?: string;
  light?: boolean;
  drop?: string;
  duplicate?: string;
  delay?: string;
  delayMs?: string;
  restartAt?: string;
  awayAt?: string;
  awayMs?: string;
  jam?: string;
  dir?: string;
}

function probability(name: string, value: string): number {
  const p = Number(value);
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(value) || !Number.isFinite(p)) throw new CliError('TS_ERR_CLI_ARG', `${name} must be a probability 0..1, got ${JSON.stringify(value)}`);
  return p;
}

/** The scenario with the command line's overrides: device counts, taps, faults on demand. */
export function applyOverrides(s: Scenario, o: FleetCliOptions): Scenario {
  const out: Scenario = structuredClone(s);
  if (o.devices !== undefined) {
    const n = parseIntArg('--devices', o.devices, 1, 2_500);
    out.devices = { gate: n, vending: n, kiosk: n, pos: n };
  }
  if (o.taps !== undefined) out.taps.count = parseIntArg('--taps', o.taps, 0, 1_000_000);
  if (o.drop !== undefined || o.duplicate !== undefined || o.delay !== undefined || o.delayMs !== undefined) {
    const f: MessageFaults = { drop: 0, duplicate: 0, delay: 0, delayMs: 200, ...out.faults };
    if (o.drop !== undefined) f.drop = probability('--drop', o.drop);
    if (o.duplicate !== undefined) f.duplicate = probability('--duplicate', o.duplicate);
    if (o.delay !== undefined) f.delay = probability('--delay', o.delay);
    if (o.delayMs !== undefined) f.delayMs = parseIntArg('--delay-ms', o.delayMs, 1, 60_000);
    out.faults = f;
  }
  const events: FleetEvent[] = [];
  if (o.restartAt !== undefined) events.push({ action: 'gateway-restart', atTap: parseIntArg('--restart-at', o.restartAt, 0, 1_000_000) });
  if (o.awayAt !== undefined || o.awayMs !== undefined) {
    events.push({ action: 'gateway-away', atTap: parseIntArg('--away-at', o.awayAt ?? '0', 0, 1_000_000), forMs: parseIntArg('--away-ms', o.awayMs ?? '60000', 0, 3_600_000) });
  }
  if (o.jam !== undefined) {
    if (!out.vending.slots.some((x) => x.slot === o.jam)) throw new CliError('TS_ERR_CLI_ARG', `--jam: no slot ${o.jam} in the scenario (slots: ${out.vending.slots.map((x) => x.slot).join(', ')})`);
    events.push({ action: 'jam', atTap: 0, slot: o.jam });
  }
  out.events = [...out.events, ...events];
  const total = out.devices.gate + out.devices.vending + out.devices.kiosk + out.devices.pos;
  if (total > 10_000) throw new CliError('TS_ERR_CLI_ARG', `at most 10000 devices in all, got ${total}`);
  return out;
}

export function simFleetCommand(sim: Command, run: Run): void {
  sim.command('fleet')
    .description('simulate a fleet of real device hosts against a gateway in this process; prints a summary (docs/fleet.md)')
    .argument('<scenario>', 'a scenario file (YAML), or a shipped one: rush-hour, sold-out, jammed-spiral, gateway-away, no-funds, deny-listed')
    .option('--seed <n>', 'the seed (default: the scenario\'s); the same seed replays the same run')
    .option('--devices <n>', 'n devices of each kind (overrides the scenario)')
    .option('--taps <n>', 'how many taps (overrides the scenario)')
    .option('--light', 'PN532 timing model off (the chip answers at once): lighter, for big fleets')
    .option('--drop <p>', 'drop each MQTT PUBLISH with probability p (through a fault proxy)')
    .option('--duplicate <p>', 'send each PUBLISH twice with probability p')
    .option('--delay <p>', 'hold each PUBLISH back with probability p')
    .option('--delay-ms <ms>', 'how long a delayed PUBLISH is held (default 200)')
    .option('--restart-at <tap>', 'kill and restart the gateway when this many taps have started')
    .option('--away-at <tap>', 'stop the gateway at this tap for --away-ms')
    .option('--away-ms <ms>', 'how long the gateway stays away (default 60000)')
    .option('--jam <slot>', 'jam this vending slot on every machine from the first tap')
    .option('--dir <dir>', 'keep the gateway and device data here (default: a temporary directory, removed after)')
    .action((file: string, o: FleetCliOptions) => run(async (g) => {
      const { loadScenario, resolveScenario } = await import('../../sim/fleet/scenario.ts');
      const { runFleet } = await import('../../sim/fleet/fleet.ts');
      const { formatSummary } = await import('../../sim/fleet/summary.ts');
      const { progressBar } = await import('../../sim/fleet/progress.ts');
      const scenario = applyOverrides(loadScenario(resolveScenario(file)), o);
      const summary = await runFleet({
        scenario, startGateway: startEmbeddedFleetGateway, progress: progressBar(), mode: o.light === true ? 'light' : 'full',
        ...(o.seed !== undefined ? { seed: parseIntArg('--seed', o.seed, 0, 0xffff_ffff) } : {}),
        ...(o.dir !== undefined ? { dir: o.dir } : {}),
      });
      print(g.json ?? false, summary, () => formatSummary(summary));
      const l = summary.ledger;
      return l.auditOk && l.settledOnceViolations === 0 && l.tapsWithoutEntry === 0 ? exitCodes.ok : exitCodes.failed;
    }));
}
