/**
 * npm run bench:fleet [-- --json] [--devices N] [--taps N] [--light]
 *
 * The largest fleet this machine simulates within 2 GB, and its memory per
 * device (issue 6; target 10,000 devices). One process: a real gateway
 * (broker, core on SQLite, registry), then N real device hosts, a quarter of
 * each kind, on simulated parts (the real PN532 driver against the virtual
 * chip over a mock serial port; `--light` turns the chip's timing model off),
 * then taps from seeded phones as fast as 256 customers at once make them.
 *
 * Reference figures from the same run: the process's RSS with the gateway
 * alone (provisioned, no device), so the per-device figure is the fleet's
 * RSS above it divided by N. The device count is capped by the process's
 * open-file limit: each device holds three descriptors here (its MQTT socket,
 * the broker's end of it, its outbox file).
 */
import { readFileSync } from 'node:fs';
import { startEmbeddedFleetGateway } from '../cli/commands/sim-fleet.ts';
import { startFleet } from '../sim/fleet/fleet.ts';
import { planTaps } from '../sim/fleet/plan.ts';
import { progressBar } from '../sim/fleet/progress.ts';
import { parseScenario } from '../sim/fleet/scenario.ts';
import { flag, machine, option, report, round } from './lib.ts';

/** The memory budget of the issue: the fleet must fit in it. */
const budgetMb = 2048;
/** Descriptors per device in one process: device socket, broker-side socket, outbox file. */
const fdsPerDevice = 3;
/** Descriptors kept for everything else (SQLite files, listeners, stdio, libuv). */
const fdsReserved = 300;

function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s{2,}/)[1]);
  return Number.isFinite(soft) ? soft : 1024;
}

const wanted = option('devices', 10_000);
const fdCap = Math.floor((openFilesLimit() - fdsReserved) / fdsPerDevice);
const devices = Math.min(wanted, fdCap);
const perKind = Math.max(1, Math.floor(devices / 4));
const tapsN = option('taps', Math.max(400, perKind * 2));
const mb = () => process.memoryUsage().rss / 2 ** 20;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const scenario = parseScenario({
  name: 'bench-fleet',
  devices: { gate: perKind, vending: perKind, kiosk: perKind, pos: perKind },
  phones: { count: Math.max(200, perKind * 2), fundsMinor: 1_000_000 },
  taps: { count: tapsN, concurrentMax: 256 },
  vending: { slots: [{ slot: 'A1', priceMinor: 150 }, { slot: 'A2', priceMinor: 200 }] },
});

const rss: Record<string, number> = {};
const progress = flag('json') ? undefined : progressBar();
const t0 = performance.now();
gc();
rss.base = mb();
const fleet = await startFleet({
  scenario, seed: 7, mode: flag('light') ? 'light' : 'full', startGateway: startEmbeddedFleetGateway, ...(progress ? { progress } : {}),
  onStage: (stage) => {
    gc();
    rss[stage] = mb();
  },
});
const upS = (performance.now() - t0) / 1000;
const n = perKind * 4;
let peak = 0;
const sampler = setInterval(() => { peak = Math.max(peak, mb()); }, 500);
try {
  const plan = planTaps(scenario, 7);
  const tRun = performance.now();
  const records = await fleet.run(plan);
  const tapsPerSec = records.length / ((performance.now() - tRun) / 1000);
  const summary = await fleet.summary(records, t0);
  const audit = summary.ledger.auditOk && summary.ledger.settledOnceViolations === 0;
  progress?.done();
  const gatewayMb = rss['gateway-provisioned']!;
  const fleetMb = rss['devices-online']!;
  const perDeviceKb = ((fleetMb - gatewayMb) * 1024) / n;
  report(`fleet: ${n} devices (${fleet.mode} hosts) on ${machine()}`, {
    devices: n,
    devicesWanted: wanted,
    devicesCapByOpenFiles: fdCap,
    mode: fleet.mode,
    rssMb: round(fleetMb),
    rssPeakMb: round(Math.max(peak, fleetMb)),
    rssPerDeviceKb: round(perDeviceKb),
    referenceGatewayAloneMb: round(gatewayMb),
    referenceProcessBaseMb: round(rss.base),
    devicesWithin2GbEstimate: Math.floor(((budgetMb - gatewayMb) * 1024) / perDeviceKb),
    withinBudget: Math.max(peak, fleetMb) <= budgetMb,
    tapsPerSec: round(tapsPerSec),
    taps: records.length,
    approved: summary.approved,
    p50Ms: summary.tapToResultMs.p50 ?? 0,
    p99Ms: summary.tapToResultMs.p99 ?? 0,
    auditPassed: audit,
    startSec: round(upS),
    machine: machine(),
  });
  process.exitCode = audit ? 0 : 1;
} finally {
  clearInterval(sampler);
  await fleet.close();
}
