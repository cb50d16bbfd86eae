/**
 * The load generator of bench:gateway, in a process of its own so that its
 * CPU is not counted as the broker's. The driver (gateway.bench.ts) talks to
 * it over stdin/stdout, one JSON line per command and one per reply:
 *
 *   connect  opens one authenticated mqtt.js client per device, paced, each
 *            subscribed (QoS 1) to its own result topic
 *   prepare  signs the settle requests of the next step (genuine cryptograms),
 *            so that signing is not done while the clock runs
 *   step     publishes them (QoS 1) at the offered rate, round robin over the
 *            devices, and times each request → result; answers after the
 *            step's window and timeouts are reported, never retried
 *   close    ends every client; the process then exits
 *
 * The same requests go to the gateway and to the bare Aedes echo; an echo
 * answer is the request itself, so both are matched by their requestId.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { limits, topics, uuidv7, walletCryptogram } from '../protocol/index.ts';
import type { Purchase } from '../protocol/index.ts';
import { percentile } from './lib.ts';

export interface LoadDevice { id: string; secret: string; merchant: string }
/** walletKey in base64. */
export interface LoadWallet { walletId: string; walletKey: string }

export type LoadCommand =
  /** noDelay: TCP_NODELAY on each client socket, as the gateway's listener sets it on its side. */
  | { cmd: 'connect'; url: string; devices: LoadDevice[]; wallets: LoadWallet[]; connectsPerSec: number; noDelay: boolean }
  | { cmd: 'prepare'; offeredPerSec: number; durationMs: number }
  | { cmd: 'step' }
  | { cmd: 'close' };

export interface StepReport {
  event: 'step';
  offeredPerSec: number;
  /** Requests published; `shed` were due but not sent because outstandingMax requests were unanswered. */
  sent: number;
  shed: number;
  /** Answers to this step's requests, and those of them that arrived inside the sending window, per second. */
  answered: number;
  answeredPerSec: number;
  /** Gateway answers by status; an echo answer counts as approved (it is the request, unchanged). */
  approved: number;
  declined: number;
  /** Latency of every request sent; a timeout counts as answerTimeoutMs. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  timeouts: number;
  /** Publish failures and client errors or disconnects during the step. */
  errors: number;
  /** Answers to an earlier step's requests that arrived in this one. */
  late: number;
  /** This process's CPU during the window and the wait for answers, % of one core. */
  loaderCpuPct: number;
  /** The whole machine's busy CPU over the same time (/proc/stat, all processes, % of one core); null off Linux. */
  machineCpuPct: number | null;
}

export type LoadReply =
  | { event: 'connected'; clients: number; ms: number; retries: number }
  | { event: 'prepared'; requests: number; ms: number }
  | StepReport
  | { event: 'closed' }
  | { event: 'error'; message: string };

export const loadLimits = {
  /** A request unanswered this long is a timeout: a device would have given up and resent long before. */
  answerTimeoutMs: 5_000,
  /**
   * Requests unanswered at once across all devices (4 per device at 1,000, bench:core's inflight); past it the
   * generator sheds load. More adds only queueing, not throughput, and with 20,000 allowed at 8,000/s offered the
   * gateway's process died of a stack overflow in Aedes' emitter (bench/RESULTS.md, bench:gateway); with 4,000 it did not.
   */
  outstandingMax: 4_000,
  /** Sending tick: at 10,000/s a tick carries 50 requests, fine enough that a step is not a burst per second. */
  tickMs: 5,
  /** Tries per device to connect; the gateway refuses past 50 connects/s per address and past 64 key checks at once, and the device retries. */
  connectAttemptsMax: 10,
  /** Time for one CONNECT → CONNACK: a first login costs the gateway a scrypt behind up to 64 others. */
  connectTimeoutMs: 30_000,
  /** Requests one step may sign in advance (~450 bytes each): 1,000,000 is ~0.5 GB, the most this process should hold. */
  requestsPerStepMax: 1_000_000,
} as const;

interface Prepared { device: number; requestId: string; body: string }

const clients: MqttClient[] = [];
const settleTopics: string[] = [];
let wallets: { walletId: string; walletKey: Buffer; counter: number }[] = [];
let deviceIds: string[] = [];
let merchants: string[] = [];
let prepared: Prepared[] = [];
let preparedRate = 0;
let cursor = 0;
/** requestId → publish time, for the current step only. */
let waiting = new Map<string, number>();
let latencies: number[] = [];
let answered = 0;
let answeredInWindow = 0;
let inWindow = false;
let approved = 0;
let declined = 0;
let late = 0;
let errors = 0;

/** Busy and total time of all CPUs since boot, from /proc/stat (user nice system idle iowait irq softirq steal …). */
function machineCpu(): { busy: number; total: number } | null {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, total: busy + idle! + iowait! };
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const reply = (r: LoadReply) => process.stdout.write(`${JSON.stringify(r)}\n`);

function onAnswer(payload: Buffer): void {
  const now = performance.now();
  let answer: { requestId?: string; type?: string; status?: string };
  try {
    answer = JSON.parse(payload.toString()) as typeof answer;
  } catch {
    errors += 1;
    return;
  }
  const sentAt = answer.requestId === undefined ? undefined : waiting.get(answer.requestId);
  if (sentAt === undefined) {
    late += 1;
    return;
  }
  waiting.delete(answer.requestId!);
  latencies.push(now - sentAt);
  answered += 1;
  if (inWindow) answeredInWindow += 1;
  if (answer.type === 'settle' || answer.status === 'approved') approved += 1;
  else declined += 1;
}

async function connectOne(url: string, d: LoadDevice, noDelay: boolean): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0, connectTimeout: loadLimits.connectTimeoutMs, keepalive: 60, clean: true,
  }, false);
  try {
    await client.subscribeAsync(topics.result(d.id), { qos: 1 });
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  if (noDelay) (client.stream as Partial<Socket>).setNoDelay?.(true);
  client.on('message', (_topic, payload) => onAnswer(payload));
  client.on('error', () => void (errors += 1));
  client.on('close', () => void (errors += 1));
  return client;
}

/** Opens the clients at `connectsPerSec`; a refused device goes to the back of the queue. */
async function connectAll(c: Extract<LoadCommand, { cmd: 'connect' }>): Promise<LoadReply> {
  const started = performance.now();
  deviceIds = c.devices.map((d) => d.id);
  merchants = c.devices.map((d) => d.merchant);
  wallets = c.wallets.map((w) => ({ walletId: w.walletId, walletKey: Buffer.from(w.walletKey, 'base64'), counter: 0 }));
  const queue = c.devices.map((d, index) => ({ d, index, attempts: 0 }));
  const running = new Set<Promise<void>>();
  let retries = 0;
  const failed: { error?: Error } = {};
  while ((queue.length > 0 || running.size > 0) && failed.error === undefined) {
    const next = queue.shift();
    if (next === undefined) {
      await Promise.race(running);
      continue;
    }
    next.attempts += 1;
    const attempt: Promise<void> = connectOne(c.url, next.d, c.noDelay).then((client) => {
      clients[next.index] = client;
      settleTopics[next.index] = topics.settle(next.d.id);
    }, (err: Error) => {
      if (next.attempts >= loadLimits.connectAttemptsMax) failed.error = new Error(`${next.d.id}: ${next.attempts} connect attempts failed, last: ${err.message}`);
      retries += 1;
      queue.push(next);
    }).finally(() => running.delete(attempt));
    running.add(attempt);
    await sleep(1000 / c.connectsPerSec);
  }
  await Promise.allSettled(running);
  if (failed.error !== undefined) throw failed.error;
  errors = 0;
  return { event: 'connected', clients: clients.length, ms: Math.round(performance.now() - started), retries };
}

function prepare(offeredPerSec: number, durationMs: number): LoadReply {
  const started = performance.now();
  const n = Math.min(loadLimits.requestsPerStepMax, Math.ceil((offeredPerSec * durationMs) / 1000));
  prepared = new Array<Prepared>(n);
  for (let k = 0; k < n; k += 1, cursor += 1) {
    const device = cursor % clients.length;
    const deviceId = deviceIds[device]!;
    const w = wallets[cursor % wallets.length]!;
    w.counter += 1;
    const purchase: Purchase = { merchant: merchants[device]!, amount: { minor: 1 + (cursor % 500), currency: 'EUR' }, article: 'cola-330', quantity: 1 };
    const deviceNonce = randomBytes(limits.nonceBytes).toString('hex');
    const cryptogram = walletCryptogram(w.walletKey, { walletId: w.walletId, deviceId, purchase, deviceNonce, counter: w.counter });
    const requestId = uuidv7();
    const body = JSON.stringify({ v: 1, type: 'settle', requestId, sentAt: Date.now(), deviceId, purchase, wallet: { walletId: w.walletId, counter: w.counter, deviceNonce, cryptogram } });
    prepared[k] = { device, requestId, body };
  }
  preparedRate = offeredPerSec;
  return { event: 'prepared', requests: n, ms: Math.round(performance.now() - started) };
}

/** Publishes the prepared requests at the offered rate, then waits for their answers or the timeout. */
async function step(): Promise<StepReport> {
  waiting = new Map();
  latencies = [];
  answered = answeredInWindow = approved = declined = late = errors = 0;
  let sent = 0;
  let shed = 0;
  const [cpu0, machine0] = [process.cpuUsage(), machineCpu()];
  const started = performance.now();
  inWindow = true;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(prepared.length, Math.floor((preparedRate * (performance.now() - started)) / 1000));
      for (; sent + shed < due; ) {
        const p = prepared[sent + shed]!;
        if (waiting.size >= loadLimits.outstandingMax) {
          shed += 1;
          continue;
        }
        waiting.set(p.requestId, performance.now());
        clients[p.device]!.publish(settleTopics[p.device]!, p.body, { qos: 1 }, (err) => { if (err) errors += 1; });
        sent += 1;
      }
      if (sent + shed >= prepared.length) {
        clearInterval(timer);
        resolve();
      }
    }, loadLimits.tickMs);
  });
  const windowMs = performance.now() - started;
  inWindow = false;
  const deadline = performance.now() + loadLimits.answerTimeoutMs;
  while (waiting.size > 0 && performance.now() < deadline) await sleep(loadLimits.tickMs);
  const timeouts = waiting.size;
  for (let i = 0; i < timeouts; i += 1) latencies.push(loadLimits.answerTimeoutMs);
  waiting = new Map();
  const [cpu, machine1] = [process.cpuUsage(cpu0), machineCpu()];
  const machineCpuPct = machine0 === null || machine1 === null || machine1.total === machine0.total ? null
    : Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * cpus().length * 100);
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const r1 = (n: number) => Math.round(n * 10) / 10;
  return {
    event: 'step', offeredPerSec: preparedRate, sent, shed, answered, answeredPerSec: Math.round(answeredInWindow / (windowMs / 1000)),
    approved, declined, p50Ms: r1(percentile(latencies, 50)), p99Ms: r1(percentile(latencies, 99)), maxMs: r1(latencies.at(-1) ?? 0),
    timeouts, errors, late, loaderCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100), machineCpuPct,
  };
}

async function handle(c: LoadCommand): Promise<LoadReply> {
  switch (c.cmd) {
    case 'connect': return connectAll(c);
    case 'prepare': return prepare(c.offeredPerSec, c.durationMs);
    case 'step': return step();
    case 'close':
      for (const client of clients) client.removeAllListeners('close');
      await Promise.all(clients.map((client) => client.endAsync(true)));
      return { event: 'closed' };
  }
}

// One command at a time, in order; a driver that goes away closes stdin, and this process exits with it.
const lines = createInterface({ input: process.stdin });
let chain = Promise.resolve();
lines.on('line', (line) => {
  chain = chain.then(async () => {
    const c = JSON.parse(line) as LoadCommand;
    try {
      reply(await handle(c));
    } catch (err) {
      reply({ event: 'error', message: err instanceof Error ? err.message : String(err) });
    }
    if (c.cmd === 'close') process.stdout.write('', () => process.exit(0));
  });
});
lines.on('close', () => process.exit(0));
