/**
 * npm run bench:gateway [-- --json] [--devices N] [--customers N] [--step-ms N] [--first-rate N] [--timeout-ms N] [--profile] [--nagle]
 *
 * Settlements per second through the whole gateway (startGateway: Aedes with device login and
 * ACL, the settlement bridge, the core on SQLite with synchronous=FULL) for ≥ 1,000 devices on
 * MQTT, beside the ceiling measured in the same run: the same load generator and clients against a
 * bare Aedes whose in-process subscriber echoes each request back on the device's result topic
 * (QoS 1). Both brokers run in this process, one after the other; the load generator
 * (gateway-load.ts) is a child process. Each target gets a climb of offered rates (×√2 a step) until
 * answers stop rising or p99 explodes, then a step at half its maximum. Targets (issue 3):
 * ≥ 10,000 settles/s, ≥ 0.8 of the echo, p99 ≤ 20 ms at half the maximum.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Aedes } from 'aedes';
import { defaultBrokerLimits } from '../gateway/broker/limits.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { startGateway } from '../gateway/gateway.ts';
import type { RunningGateway } from '../gateway/gateway.ts';
import { topics } from '../protocol/index.ts';
import type { LoadCommand, LoadDevice, LoadReply, LoadWallet, StepReport } from './gateway-load.ts';
import { flag, machine, option, report, round } from './lib.ts';

const devicesN = option('devices', 1000);
/** Funded customers with wallets; requests go round robin over them, so each wallet's counter is used once per ~10,000 requests. */
const customersN = option('customers', 10_000);
/** Sending window of a climb step: long enough for a batch pipeline to reach its steady state, short enough for ~8 steps a target. */
const stepMs = option('step-ms', 4000);
/** The first step's offered rate; each next step offers rateFactor times more: doubling every two steps, fine enough to place the maximum within ~40 %. */
const [firstRatePerSec, rateFactor] = [option('first-rate', 1000), Math.SQRT2];
/** The climb stops here whatever happens: far beyond what one Aedes process carries. */
const offeredPerSecMax = 256_000;
/** A step must answer this many times the best rate before it; less means throughput stopped rising. */
const risingFactorMin = 1.1;
/** A p99 above this means latency exploded (requests queue): the climb stops. */
const p99StopMs = 1000;
/** The step at half the maximum runs twice as long, for a steadier p99. */
const finalStepMs = 2 * stepMs;
/** Other processes' CPU (% of one core) above which a step is measured again: the machine is shared, and 2 cores are all there is. */
const otherCpuPctMax = 25;
/** Measurements of one step at most; the one with the least other load is kept. */
const noisyStepTriesMax = 3;
/** Pause before the final step, so the backlog of the last overloaded step is gone. */
const quietMs = 2000;
/** The gateway refuses more than 50 connects/s per address and the load generator is one address: 90 % of it, for window edges. */
const gatewayConnectsPerSec = Math.floor(defaultBrokerLimits.connectsPerIpPerSecMax * 0.9);
/** The bare broker has no connect limit; 500/s keeps the accept backlog short. */
const echoConnectsPerSec = 500;
/** Device registrations at once: each costs a scrypt on libuv's 4 threads; more would only queue. */
const setupConcurrency = 16;
/** Whole run, setup included (~25 s of logins at 45/s, about a minute of climb per target): past it everything is killed. */
const overallTimeoutMs = option('timeout-ms', 15 * 60_000);
/**
 * Clients set TCP_NODELAY (--nagle leaves it off): with Nagle on, mqtt.js's small writes meet
 * delayed ACKs on loopback and a round trip took ~45 ms at 1,000/s (50 clients), which measures
 * the kernel's timers rather than the broker.
 */
const clientNoDelay = !flag('nagle');
/** 20 merchants as in bench:core; 10,000.00 per customer, which requests of ≤ 5.00 cannot use up in a run; accounts opened 10,000 per transaction. */
const [merchantsN, fundingMinor, walletChunk] = [20, 1_000_000, 10_000];

const log = (msg: string) => { if (!flag('json')) console.error(msg); };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const children = new Set<LoadProcess>();
/** serverCpuPct: this process, the whole server (libuv threads included); otherCpuPct: the machine's busy CPU that was neither server nor load generator. Both % of one core. */
type StepRow = StepReport & { serverCpuPct: number; otherCpuPct: number | null; tries: number };

/** The load generator child: one command at a time, one reply line each. */
class LoadProcess {
  private readonly child: ChildProcess;
  private waiter: ((r: LoadReply | Error) => void) | null = null;
  private exited: Error | null = null;
  readonly done: Promise<void>;

  constructor() {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'gateway-load.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.deliver(JSON.parse(line) as LoadReply));
    this.done = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.exited = new Error(`load generator exited (${code ?? signal})`);
      this.deliver(this.exited);
      resolve();
    }));
  }

  send<E extends LoadReply['event']>(c: LoadCommand, event: E): Promise<Extract<LoadReply, { event: E }>> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(this.exited);
      this.waiter = (r) => {
        if (r instanceof Error) reject(r);
        else if (r.event !== event) reject(new Error(`load generator answered ${JSON.stringify(r).slice(0, 300)} to ${c.cmd}`));
        else resolve(r as Extract<LoadReply, { event: E }>);
      };
      this.child.stdin!.write(`${JSON.stringify(c)}\n`);
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }

  private deliver(r: LoadReply | Error): void {
    const w = this.waiter;
    this.waiter = null;
    w?.(r);
  }
}

/** One step; measured again (up to noisyStepTriesMax times, the quietest kept) while other work on the machine took over otherCpuPctMax. */
async function runStep(load: LoadProcess, offeredPerSec: number, durationMs: number): Promise<StepRow> {
  let best: StepRow | null = null;
  for (let tries = 1; tries <= noisyStepTriesMax && (best === null || (best.otherCpuPct ?? 0) > otherCpuPctMax); tries += 1) {
    await load.send({ cmd: 'prepare', offeredPerSec, durationMs }, 'prepared');
    const [cpu0, t0] = [process.cpuUsage(), performance.now()];
    const s = await load.send({ cmd: 'step' }, 'step');
    const cpu = process.cpuUsage(cpu0);
    const serverCpuPct = Math.round((cpu.user + cpu.system) / 10 / (performance.now() - t0));
    const otherCpuPct = s.machineCpuPct === null ? null : Math.max(0, s.machineCpuPct - serverCpuPct - s.loaderCpuPct);
    log(`  offered ${offeredPerSec}/s: answered ${s.answeredPerSec}/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, timeouts ${s.timeouts}, shed ${s.shed}, declined ${s.declined}, errors ${s.errors}; cpu: server ${serverCpuPct} %, load generator ${s.loaderCpuPct} %, others ${otherCpuPct ?? '?'} %`);
    if (best === null || (otherCpuPct ?? 0) < (best.otherCpuPct ?? 0)) best = { ...s, serverCpuPct, otherCpuPct, tries };
    else best.tries = tries;
  }
  return best!;
}

interface TargetRun { connectMs: number; steps: StepRow[]; maxPerSec: number; final: StepRow }

/** Connects the clients to one broker, climbs, then runs the step at half the maximum. */
async function measure(label: string, url: string, devices: LoadDevice[], wallets: LoadWallet[], connectsPerSec: number, hooks: { connected?: () => Promise<void>; climbed?: () => Promise<void>; quiet?: () => Promise<void> } = {}): Promise<TargetRun> {
  const load = new LoadProcess();
  children.add(load);
  try {
    log(`${label}: connecting ${devices.length} clients at ${connectsPerSec}/s …`);
    const connected = await load.send({ cmd: 'connect', url, devices, wallets, connectsPerSec, noDelay: clientNoDelay }, 'connected');
    log(`${label}: ${connected.clients} clients in ${connected.ms} ms (${connected.retries} retries); climbing`);
    await hooks.connected?.();
    const steps: StepRow[] = [];
    let best = 0;
    for (let k = 0; firstRatePerSec * rateFactor ** k <= offeredPerSecMax; k += 1) {
      const s = await runStep(load, Math.round(firstRatePerSec * rateFactor ** k), stepMs);
      steps.push(s);
      const rising = s.answeredPerSec >= best * risingFactorMin;
      best = Math.max(best, s.answeredPerSec);
      if (!rising || s.p99Ms > p99StopMs || s.timeouts > 0 || s.shed > 0) break;
    }
    await hooks.climbed?.();
    await sleep(quietMs);
    await hooks.quiet?.();
    const half = Math.max(100, Math.round(best / 2 / 100) * 100);
    log(`${label}: final step at half the maximum, ${half}/s`);
    const final = await runStep(load, half, finalStepMs);
    await load.send({ cmd: 'close' }, 'closed');
    await load.done;
    return { connectMs: connected.ms, steps, maxPerSec: best, final };
  } finally {
    load.kill();
    children.delete(load);
  }
}

/** The bare broker: Aedes defaults, no auth, one in-process subscriber echoing each request to its device. */
async function startEcho(): Promise<{ url: string; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  await new Promise<void>((resolve) => aedes.subscribe(topics.all('settle'), (packet, done) => {
    const deviceId = packet.topic.split('/')[3]!;
    // Off the delivery stack (the gateway's bridge too answers after an await): under a backlog, mqemitter
    // runs the next queued message inside done(), and answering synchronously overflows the stack.
    process.nextTick(() => {
      aedes.publish({ cmd: 'publish', topic: topics.result(deviceId), payload: packet.payload, qos: 1, retain: false, dup: false }, () => {});
      done();
    });
  }, resolve));
  // noDelay as the gateway's TCP listener has it.
  const server = createServer({ noDelay: true }, (socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))),
  };
}

/** Merchants, devices (core + registry, which hashes each secret with scrypt), funded customers with wallets. */
async function seed(gw: RunningGateway): Promise<{ devices: LoadDevice[]; wallets: LoadWallet[] }> {
  const core = gw.core;
  const merchants = await core.openAccounts(Array.from({ length: merchantsN }, (_, i) => ({ kind: 'merchant' as const, branch: 900, currency: 'EUR', name: `Merchant ${i}` })));
  const devices: LoadDevice[] = [];
  for (let i = 0; i < devicesN; i += setupConcurrency) {
    const chunk = Array.from({ length: Math.min(setupConcurrency, devicesN - i) }, (_, j) => i + j);
    devices.push(...await Promise.all(chunk.map(async (n) => {
      const id = `bench-${String(n).padStart(5, '0')}`;
      const merchant = merchants[n % merchantsN]!.id;
      await core.registerDevice({ id, kind: 'vending', merchant });
      const { secret } = await gw.registry.add({ id, kind: 'vending', merchant });
      return { id, secret, merchant };
    })));
  }
  const wallets: LoadWallet[] = [];
  for (let i = 0; i < customersN; i += walletChunk) {
    const n = Math.min(walletChunk, customersN - i);
    const accounts = await core.openAccounts(Array.from({ length: n }, (_, j) => ({ kind: 'customer' as const, branch: 1 + ((i + j) % 999), currency: 'EUR', name: `C${i + j}` })));
    await core.fundMany(accounts.map((a, j) => ({ account: a.id, amount: fundingMinor, reference: `seed-${i + j}` })));
    for (const e of await core.enrollWallets(accounts.map((a) => a.id))) wallets.push({ walletId: e.wallet.id, walletKey: e.walletKey.toString('base64') });
  }
  return { devices, wallets };
}

/** --profile: a CPU profile of this process, which is the gateway, between start and stop. */
async function profiler(path: string): Promise<{ stop(): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable').then(() => session.post('Profiler.start'));
  return {
    stop: async () => {
      writeFileSync(path, JSON.stringify((await session.post('Profiler.stop')).profile));
      session.disconnect();
      log(`CPU profile of the gateway's climb: ${path}`);
    },
  };
}

/** Issue 3's targets. */
const targets = { settlesPerSec: 10_000, ratio: 0.8, p99Ms: 20 } as const;
const versus = (met: boolean, miss: string) => (met ? 'met' : `missed ${miss}`);

const dir = mkdtempSync(join(tmpdir(), 'tapsettle-gw-bench-'));
// The gateway runs in this process: whatever ends it (the timeout, an error, a crash inside it), the load generator and the temp dir go too.
process.on('exit', () => {
  for (const c of children) c.kill();
  rmSync(dir, { recursive: true, force: true });
});
setTimeout(() => {
  console.error(`bench:gateway: overall timeout of ${overallTimeoutMs} ms reached; stopping`);
  process.exit(1);
}, overallTimeoutMs).unref();

const loadAvgStart = loadavg()[0]!;
const config = parseGatewayConfig({ data: dir, mqtt: { port: 0 }, http: { port: 0 }, demo: false, log: { level: 'silent' } });
const gw = await startGateway(config, { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) });
let echoRun: TargetRun;
let gwRun: TargetRun;
let setupMs: number;
try {
  log(`seeding ${devicesN} devices, ${customersN} customers …`);
  const setupStarted = performance.now();
  const { devices, wallets } = await seed(gw);
  setupMs = Math.round(performance.now() - setupStarted);
  log(`seeded in ${setupMs} ms`);
  // The gateway stays up, idle, while the echo is measured: both use the same devices and wallets.
  const echo = await startEcho();
  try {
    echoRun = await measure('echo', echo.url, devices, wallets, echoConnectsPerSec);
  } finally {
    await echo.close();
  }
  const profilePath = flag('profile') ? join(tmpdir(), `tapsettle-gateway-bench-${process.pid}.cpuprofile`) : null;
  let prof: { stop(): Promise<void> } | null = null;
  gwRun = await measure('gateway', gw.urls.mqtt, devices, wallets, gatewayConnectsPerSec, {
    connected: async () => { if (profilePath !== null) prof = await profiler(profilePath); },
    climbed: async () => { await prof?.stop(); },
    // The last overloaded step may have left requests in the core's queue.
    quiet: () => gw.core.drain(),
  });
} finally {
  await gw.close();
}

const ratio = gwRun.maxPerSec / echoRun.maxPerSec;
const all = [...gwRun.steps, gwRun.final];
const sum = (k: 'declined' | 'timeouts' | 'errors') => all.reduce((n, s) => n + s[k], 0);
const figures = {
  machine: machine(), devices: devicesN, customers: customersN, clientNoDelay,
  setupMs, gatewayConnectMs: gwRun.connectMs, echoConnectMs: echoRun.connectMs,
  settlesPerSec: gwRun.maxPerSec, echoPerSec: echoRun.maxPerSec, ratio: round(ratio, 2),
  halfRatePerSec: gwRun.final.offeredPerSec, p50Ms: gwRun.final.p50Ms, p99Ms: gwRun.final.p99Ms,
  echoHalfRatePerSec: echoRun.final.offeredPerSec, echoP50Ms: echoRun.final.p50Ms, echoP99Ms: echoRun.final.p99Ms,
  declined: sum('declined'), timeouts: sum('timeouts'), errors: sum('errors'),
  loadAvgStart: round(loadAvgStart, 2), loadAvgEnd: round(loadavg()[0]!, 2),
  targetSettlesPerSec: `≥ ${targets.settlesPerSec}: ${versus(gwRun.maxPerSec >= targets.settlesPerSec, `by ${targets.settlesPerSec - gwRun.maxPerSec}/s, ${Math.round((100 * gwRun.maxPerSec) / targets.settlesPerSec)} % of it`)}`,
  targetRatio: `≥ ${targets.ratio}: ${versus(ratio >= targets.ratio, `by ${round(targets.ratio - ratio, 2)}`)}`,
  targetP99Ms: `≤ ${targets.p99Ms} at half the maximum: ${versus(gwRun.final.p99Ms <= targets.p99Ms, `by ${round(gwRun.final.p99Ms - targets.p99Ms)} ms`)}`,
};
if (flag('json')) {
  console.log(JSON.stringify({ ...figures, steps: { echo: [...echoRun.steps, echoRun.final], gateway: all } }));
} else {
  report('gateway benchmark (MQTT → bridge → core on SQLite, beside a bare Aedes echo)', figures);
}
