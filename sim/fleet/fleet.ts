/**
 * The fleet simulator (DESIGN §9, §11): a gateway in this process, N real
 * device hosts of each kind on simulated parts, phones with seeded funds, and
 * a scenario's taps, events and message faults. `startFleet` brings it up;
 * `Fleet.run` executes a plan; `runFleet` does both and returns the summary.
 * One seed gives the same plan and, without timing-dependent faults, the same
 * summary counts (docs/fleet.md says which parts replay exactly).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../../protocol/index.ts';
import type { DeviceKind } from '../../protocol/index.ts';
import { limits } from '../../protocol/index.ts';
import { seededRandom } from '../../firmware-hosts/runtime/backoff.ts';
import { SimulatedPhone } from '../phone/phone.ts';
import { seededBytes, wallClock } from './clock.ts';
import type { FleetClock } from './clock.ts';
import { customerTap, ResultLog } from './customers.ts';
import type { TapRecord } from './customers.ts';
import { deviceConfig, startDevice } from './devices.ts';
import type { FleetDevice, FleetKeys } from './devices.ts';
import { FleetError } from './errors.ts';
import { FaultProxy } from './fault-proxy.ts';
import { planTaps } from './plan.ts';
import type { PlannedTap } from './plan.ts';
import type { Progress } from './progress.ts';
import type { FleetGateway, StartFleetGateway } from './gateway-port.ts';
import { fleetKinds, provision } from './provision.ts';
import type { Provisioned } from './provision.ts';
import type { MessageFaults, Scenario } from './scenario.ts';
import { checkLedger, summarize } from './summary.ts';
import type { FleetSummary } from './summary.ts';
import { topics } from '../../protocol/index.ts';

/** Hosts started at once: each opens a socket and a file; more at once only queues on the 2 cores. */
export const hostStartsInFlightMax = 64;
/** Hosts started per second: the gateway refuses more than 50 connects/s from one address (its broker limit), and the whole fleet is 127.0.0.1. */
export const hostStartsPerSecMax = 45;
/** Waiting for every device to connect and apply its config: the first login of a device costs one scrypt (~25 ms) on the gateway. */
export const readyWaitMsBase = 30_000;
export const readyWaitMsPerDevice = 30;
/** After the last tap, how long the outboxes may take to drain (resends after a restart, an offline gate's queued settles). */
export const drainWaitMs = 120_000;
/** Resend an unanswered entry after this on a run with message faults (the link's default is 15 s). */
export const faultResendAfterMs = 1_000;

export type FleetMode = 'full' | 'light';

export interface FleetOptions {
  scenario: Scenario;
  /** Starts the real gateway the devices talk to (cli/commands/sim-fleet.ts: startEmbeddedFleetGateway). */
  startGateway: StartFleetGateway;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Working directory (gateway data, device data); a fresh temporary one, removed at close, when absent. */
  dir?: string;
  /** full: the PN532 UART + RF timing model on (a real chip's latencies); light: off. */
  mode?: FleetMode;
  clock?: FleetClock;
  progress?: Progress;
  /** Called as the fleet comes up (the benchmark reads memory between stages). */
  onStage?: (stage: 'gateway-provisioned' | 'devices-online') => void;
}

export interface Fleet {
  readonly seed: number;
  readonly mode: FleetMode;
  readonly devices: ReadonlyMap<DeviceKind, FleetDevice[]>;
  readonly phones: SimulatedPhone[];
  readonly provisioned: Provisioned;
  readonly gateway: FleetGateway;
  readonly proxy: FaultProxy | null;
  /** Executes the plan; resolves with one record per tap once every outbox has drained. */
  run(plan?: PlannedTap[]): Promise<TapRecord[]>;
  summary(records: TapRecord[], startedAt: number): Promise<FleetSummary>;
  close(): Promise<void>;
}

const noFaults: MessageFaults = { drop: 0, duplicate: 0, delay: 0, delayMs: 200 };
const hasFaults = (f: MessageFaults | undefined): boolean => f !== undefined && (f.drop > 0 || f.duplicate > 0 || f.delay > 0);

async function eachBounded<T>(items: readonly T[], inFlight: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

async function waitUntil(what: string, check: () => boolean, timeoutMs: number, clock: FleetClock, detail: () => string = () => ''): Promise<void> {
  const end = clock.now() + timeoutMs;
  while (!check()) {
    if (clock.now() > end) throw new FleetError('TS_ERR_FLEET_START', `timed out after ${timeoutMs} ms waiting for ${what}${detail()}`);
    await clock.sleep(20);
  }
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const s = o.scenario;
  const seed = o.seed ?? s.seed;
  const mode = o.mode ?? 'full';
  const clock = o.clock ?? wallClock;
  const progress = o.progress;
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'tapsettle-fleet-'));
  const random = seededRandom(seed);
  const issuer = generateSigningKeyPair('fleet-issuer');
  const keys: FleetKeys = { gates: generateSigningKeyPair('fleet-gates'), issuer };
  const gateway = await o.startGateway(dir, issuer);
  const started: FleetDevice[] = [];
  let proxy: FaultProxy | null = null;
  const cleanup = async () => {
    await eachBounded(started, hostStartsInFlightMax, (d) => d.host.close());
    await proxy?.close();
    await gateway.close();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const provisioned = await provision(gateway.gw, s, (what, done, total) => progress?.update(what, done, total));
    o.onStage?.('gateway-provisioned');
    const denyList = provisioned.phones.filter((p) => p.role === 'deny-listed').map((p) => p.walletId).slice(0, limits.denyListMax);
    for (const d of provisioned.devices) {
      const config = deviceConfig(d.kind, d.id, s, provisioned.merchant, keys, denyList, 1);
      await gateway.gw.broker.publish(topics.config(d.id), JSON.stringify(config), { qos: 1, retain: true });
    }
    const faultsUsed = hasFaults(s.faults) || s.events.some((e) => e.action === 'faults');
    if (faultsUsed) {
      // No faults until the first tap: every device first gets its retained config whole.
      proxy = await FaultProxy.start({ upstreamPort: gateway.mqttPort, faults: noFaults, random: seededRandom(seed ^ 0x5eed) });
    }
    const mqttUrl = `mqtt://127.0.0.1:${proxy?.port ?? gateway.mqttPort}`;
    const resendAfterMs = faultsUsed || s.events.some((e) => e.action.startsWith('gateway')) ? faultResendAfterMs : 15_000;
    let n = 0;
    const paceFrom = clock.now();
    await eachBounded(provisioned.devices.map((d, i) => ({ d, i })), hostStartsInFlightMax, async ({ d, i }) => {
      const wait = paceFrom + (i * 1000) / hostStartsPerSecMax - clock.now();
      if (wait > 0) await clock.sleep(wait);
      started.push(await startDevice({ kind: d.kind, index: d.index, secret: d.secret, mqttUrl, dir, scenario: s, keys, seed, timing: mode === 'full', resendAfterMs }));
      progress?.update('hosts started', (n += 1), provisioned.devices.length);
    });
    const online = () => started.filter((d) => d.host.link.connected && d.host.link.outbox.configVersion >= 1).length;
    await waitUntil('every device to connect and apply its config', () => {
      const ready = online();
      progress?.update('devices online', ready, started.length);
      return ready === started.length;
    }, readyWaitMsBase + readyWaitMsPerDevice * started.length, clock, () => ` (${online()} of ${started.length} online)`);
    o.onStage?.('devices-online');
    const phones = await Promise.all(provisioned.phones.map((p) => SimulatedPhone.open({ walletId: p.walletId, walletKey: p.walletKey, randomBytes: seededBytes(random) })));
    const devices = new Map<DeviceKind, FleetDevice[]>(fleetKinds.map((k) => [k, started.filter((d) => d.kind === k).sort((a, b) => a.index - b.index)]));
    return makeFleet({ s, seed, mode, clock, progress, gateway, proxy, provisioned, devices, phones, cleanup });
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}

interface FleetParts {
  s: Scenario;
  seed: number;
  mode: FleetMode;
  clock: FleetClock;
  progress: Progress | undefined;
  gateway: FleetGateway;
  proxy: FaultProxy | null;
  provisioned: Provisioned;
  devices: Map<DeviceKind, FleetDevice[]>;
  phones: SimulatedPhone[];
  cleanup: () => Promise<void>;
}

function makeFleet(p: FleetParts): Fleet {
  const { s, clock, gateway, devices } = p;
  const logs = new Map<FleetDevice, ResultLog>();
  for (const list of devices.values()) for (const d of list) logs.set(d, new ResultLog(d));
  const restarts: Promise<void>[] = [];
  let gatewayRestarts = 0;
  const all = () => [...devices.values()].flat();

  const fire = (e: Scenario['events'][number]): void => {
    switch (e.action) {
      case 'gateway-away':
      case 'gateway-restart':
        restarts.push(gateway.restart(e.action === 'gateway-away' ? e.forMs : 0).then(() => { gatewayRestarts += 1; }));
        return;
      case 'jam':
        for (const d of (devices.get('vending') ?? []).slice(0, e.devices ?? Number.MAX_SAFE_INTEGER)) d.jammed.add(e.slot);
        return;
      case 'unjam':
        for (const d of devices.get('vending') ?? []) d.jammed.delete(e.slot);
        return;
      case 'faults':
        p.proxy?.setFaults(e.faults);
    }
  };

  const fleet: Fleet = {
    seed: p.seed, mode: p.mode, devices, phones: p.phones, provisioned: p.provisioned, gateway, proxy: p.proxy,
    async run(plan = planTaps(s, p.seed)) {
      const events = [...s.events].sort((a, b) => a.atTap - b.atTap);
      const records: TapRecord[] = new Array<TapRecord>(plan.length);
      const phoneChain = new Map<number, Promise<unknown>>();
      const deviceChain = new Map<FleetDevice, Promise<unknown>>();
      let running = 0;
      let finished = 0;
      let freed: (() => void) | null = null;
      if (s.faults) p.proxy?.setFaults(s.faults);
      const t0 = clock.now();
      const tasks: Promise<unknown>[] = [];
      for (const tap of plan) {
        while (events.length > 0 && events[0]!.atTap <= tap.index) fire(events.shift()!);
        const wait = t0 + tap.atMs - clock.now();
        if (wait > 0) await clock.sleep(wait);
        while (running >= s.taps.concurrentMax) await new Promise<void>((r) => { freed = r; });
        running += 1;
        const device = devices.get(tap.kind)![tap.device]!;
        const phone = p.phones[tap.phone]!;
        const after = Promise.all([phoneChain.get(tap.phone), deviceChain.get(device)]);
        const task = after.then(async () => {
          records[tap.index] = await customerTap(device, phone, tap.choice, { index: tap.index, kind: tap.kind, deviceId: device.id, phone: tap.phone }, logs.get(device)!);
        }).finally(() => {
          running -= 1;
          finished += 1;
          p.progress?.update('taps', finished, plan.length, `approved ${records.filter((r) => r?.outcome === 'approved').length}`);
          const f = freed;
          freed = null;
          f?.();
        });
        phoneChain.set(tap.phone, task);
        deviceChain.set(device, task);
        tasks.push(task);
      }
      for (const e of events) fire(e);
      await Promise.all(tasks);
      await Promise.all(restarts);
      // The customers are gone: what is still in flight recovers over a clean network.
      p.proxy?.setFaults(noFaults);
      await waitUntil('every outbox to drain', () => all().every((d) => d.host.link.outbox.depth === 0), drainWaitMs, clock);
      await gateway.gw.core.drain();
      return records;
    },
    async summary(records, startedAt) {
      const ledger = await checkLedger(gateway.gw.core, records);
      const counts = Object.fromEntries(fleetKinds.map((k) => [k, devices.get(k)?.length ?? 0])) as Record<DeviceKind, number>;
      return summarize({
        scenario: s.name, seed: p.seed, mode: p.mode, devices: counts, phones: p.phones.length, ledger, gatewayRestarts,
        faults: p.proxy ? { ...p.proxy.counts } : null, durationMs: Math.round(clock.now() - startedAt), rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      }, records);
    },
    close: p.cleanup,
  };
  return fleet;
}

/** Brings a fleet up, runs the scenario's plan, checks the ledger, takes it all down. */
export async function runFleet(o: FleetOptions): Promise<FleetSummary> {
  const clock = o.clock ?? wallClock;
  const startedAt = clock.now();
  const fleet = await startFleet(o);
  try {
    const records = await fleet.run();
    return await fleet.summary(records, startedAt);
  } finally {
    o.progress?.done();
    await fleet.close();
  }
}
