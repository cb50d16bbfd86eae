/**
 * The device side of bench:device, in its own process so its RSS is the
 * device host's own: reads one DeviceJob (a JSON line on stdin), starts an
 * exit gate through startHost with simulated parts (PN532 timing model on,
 * 115200 baud), taps simulated phones, then measures the references (a bare
 * PN532 exchange and a bare DeviceLink.settle) and prints one DeviceReport
 * line on stdout.
 *
 * Instrumentation, on the running objects and changing nothing they do: the
 * link's settle() is timed around the call (the settle round trip as the
 * gate's ExitDesk awaits it: outbox write, MQTT publish, gateway, answer
 * verified), and the reader's waitForTarget() and exchange() are timed, so a
 * tap's time splits into NFC (reader calls), settle and the rest (the host's
 * own code: decode, verify, state machine, relay).
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { gateKind } from '../firmware-hosts/gate/index.ts';
import type { GateProgram } from '../firmware-hosts/gate/index.ts';
import { fareFor } from '../firmware-hosts/gate/fares.ts';
import { signAdmission } from '../firmware-hosts/gate/signatures.ts';
import { parseDeviceFile } from '../firmware-hosts/runtime/host-kind.ts';
import { startHost } from '../firmware-hosts/runtime/host.ts';
import type { RunningHost } from '../firmware-hosts/runtime/host.ts';
import { DeviceLink } from '../firmware-hosts/runtime/link.ts';
import type { SettleDraft } from '../firmware-hosts/runtime/bodies.ts';
import { deviceNonce } from '../firmware-hosts/runtime/tap.ts';
import { WalletClient } from '../hardware/wallet-client.ts';
import type { NfcReader } from '../hardware/nfc-reader.ts';
import { uuidv7 } from '../protocol/index.ts';
import type { DeviceConfig, SigningKeyPair } from '../protocol/index.ts';
import { SimulatedPhone } from '../sim/phone/phone.ts';
import { openSimParts } from '../sim/station/sim-parts.ts';
import type { SimHandles } from '../sim/station/sim-parts.ts';

export interface DeviceJob {
  mqttUrl: string;
  deviceId: string;
  secret: string;
  dir: string;
  config: DeviceConfig;
  /** Signs the admissions the bench puts on the phones, as the entry gate of `fromStation` would. */
  entryKey: SigningKeyPair;
  fromStation: string;
  stationId: string;
  wallets: { walletId: string; walletKey: string }[];
  taps: number;
  refs: number;
}

/** Per tap, ms (performance.now spans); settle and nfc are parts of tapToOpen. */
export interface TapFigures { tapToOpen: number; settle: number; nfc: number }

export interface DeviceReport {
  event: 'report';
  /** startHost called → connected, config applied, gate idle (taking customers). */
  readyMs: number;
  /** startHost's own readyMs: the program started, before the link is up and the config is in. */
  hostReadyMs: number;
  /** This process's start (performance.timeOrigin) → ready: Node, tsx and module loading included. */
  processReadyMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** After a full GC (the child runs with --expose-gc): what the host keeps, as against what V8 has not collected yet. */
  heapUsedAfterGcBytes: number;
  rssAfterGcBytes: number;
  taps: TapFigures[];
  refused: string[];
  /** The host's own deviceOverheadSeconds histogram (seenAt → result, minus the round trip): cumulative counts per upper bound in ms. */
  hostOverheadBuckets: { leMs: number; count: number }[];
  bareNfc: number[];
  bareSettle: number[];
}

/** Each wait of the driver loop: a tap answered by a real gateway on loopback takes < 1 s; 10 s means something hung. */
const stepTimeoutMs = 10_000;
/** The passage sensor's beam is broken this long per customer: more than the sensor's 5 ms debounce, a quick walk in sim time. */
const walkMs = 20;
/** Largest poll phase at which the bare reference places its phone: the gate's reader sees phones at any phase of its 20 ms poll. */
const bareRefPhaseMaxMs = 20;
/** How long the bare reference waits for a target. */
const bareTargetWaitMs = 2_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when check() holds, testing it every ms (bounded by stepTimeoutMs). */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = performance.now() + stepTimeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`device bench: timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** Times every waitForTarget/exchange call of the reader: [start, end] spans, the last few kept. */
function timeReader(reader: NfcReader): { spans: [number, number][] } {
  const record = { spans: [] as [number, number][] };
  for (const name of ['waitForTarget', 'exchange'] as const) {
    const original = reader[name].bind(reader) as (...a: unknown[]) => Promise<unknown>;
    (reader as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return await original(...args);
      } finally {
        record.spans.push([t0, performance.now()]);
        // One tap makes ~10 calls; 64 spans are several taps' worth.
        if (record.spans.length > 64) record.spans.shift();
      }
    };
  }
  return record;
}

const overlap = (spans: [number, number][], from: number, to: number): number =>
  spans.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, to) - Math.max(a, from)), 0);

async function readJob(): Promise<DeviceJob> {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return JSON.parse(line) as DeviceJob;
  }
  throw new Error('device bench: no job on stdin');
}

/** Waits until the gate takes customers: link up, the retained config applied, the machine idle. */
async function gateReady(host: RunningHost, version: number): Promise<void> {
  const program = host.program as GateProgram;
  await until('the gate to be ready', () => host.link.connected && host.link.outbox.configVersion >= version && program.machine.state === 'idle');
}

/** One customer through the exit: returns the tap's figures, or the refusal. */
async function oneTap(host: RunningHost, sim: SimHandles, phone: SimulatedPhone, readerSpans: { spans: [number, number][] }, settleRt: { last: number }): Promise<TapFigures | string> {
  const program = host.program as GateProgram;
  const relay = sim.relays.get('gate')!;
  const chip = sim.chip!;
  let openedAt = 0;
  const onChange = (state: string) => { if (state === 'open' && openedAt === 0) openedAt = performance.now(); };
  relay.on('change', onChange);
  const handled = program.report().handled as number;
  settleRt.last = Number.NaN;
  const placedAt = performance.now();
  chip.field.place(phone);
  try {
    await until('the gate to open or refuse', () => openedAt > 0 || (program.report().handled as number) > handled);
  } finally {
    relay.off('change', onChange);
  }
  if (openedAt > 0) {
    await sim.inputs.get('passage')!.pulse(walkMs);
  }
  await until('the tap to end', () => (program.report().handled as number) > handled);
  chip.field.remove(phone);
  await until('the field to clear', () => program.report().fieldBusy === false && program.machine.state === 'idle');
  if (openedAt === 0) return program.last?.why ?? 'not opened';
  return { tapToOpen: openedAt - placedAt, settle: settleRt.last, nfc: overlap(readerSpans.spans, placedAt, openedAt) };
}

/** The reference exchange: the reader already polling, a phone placed, SELECT then AUTHORIZE PURCHASE. */
async function bareExchange(reader: NfcReader, sim: SimHandles, phone: SimulatedPhone, draft: Omit<SettleDraft, 'wallet'>, phaseMs: number, deviceId: string) {
  const target = reader.waitForTarget({ timeoutMs: bareTargetWaitMs });
  await sleep(phaseMs);
  const t0 = performance.now();
  sim.chip!.field.place(phone);
  if ((await target) === null) throw new Error('device bench: the bare reference saw no phone');
  const wallet = new WalletClient(reader);
  await wallet.select();
  const auth = await wallet.authorizePurchase({ deviceId, purchase: draft.purchase, deviceNonce: deviceNonce() });
  const ms = performance.now() - t0;
  sim.chip!.field.remove(phone);
  await reader.release();
  return { ms, auth };
}

async function main(): Promise<void> {
  const job = await readJob();
  const dataDir = join(job.dir, 'device');
  const file = parseDeviceFile(gateKind, {
    device: { id: job.deviceId, kind: 'gate', secret: job.secret },
    gateway: { url: job.mqttUrl },
    dataDir,
    log: { level: 'silent' },
    parts: { nfc: { driver: 'sim' }, relays: { gate: { pin: 1 } }, inputs: { passage: { pin: 2, kind: 'passage-sensor', debounceMs: 5 } } },
    // Everything else at the gate's defaults (tapPollMs 500, resultTimeoutMs 2 s, openPulseMs 5 s, offline refuse).
    gate: { mode: 'exit', stationId: job.stationId },
  }, join(job.dir, `${job.deviceId}.yaml`));
  const phones = await Promise.all(job.wallets.map((w) => SimulatedPhone.open({ walletId: w.walletId, walletKey: Buffer.from(w.walletKey, 'base64') })));

  const { parts, sim } = await openSimParts(file.parts, { timing: true });
  const readerSpans = timeReader(parts.nfc!);
  const t0 = performance.now();
  const host = await startHost({ file, parts, program: (ctx) => gateKind.program(ctx), logger: pino({ level: 'silent' }) });
  const hostReadyMs = host.readyMs;
  await gateReady(host, job.config.version);
  const readyMs = performance.now() - t0;
  const processReadyMs = performance.now();

  const settleRt = { last: Number.NaN };
  const settle = host.link.settle.bind(host.link);
  host.link.settle = async (draft, timeoutMs) => {
    const s0 = performance.now();
    const r = await settle(draft, timeoutMs);
    settleRt.last = performance.now() - s0;
    return r;
  };

  const taps: TapFigures[] = [];
  const refused: string[] = [];
  for (let i = 0; i < job.taps; i += 1) {
    const phone = phones[i % phones.length]!;
    // The admission an entry gate at fromStation would have written: the exit reads it, verifies it, charges the table fare and clears it.
    phone.holdings.putAdmissions([signAdmission(job.entryKey, { admissionId: uuidv7(), walletId: phone.holdings.walletId, station: job.fromStation, gate: 'bench-entry', enteredAt: Date.now() })]);
    const r = await oneTap(host, sim, phone, readerSpans, settleRt);
    if (typeof r === 'string') refused.push(r);
    else taps.push(r);
  }
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  globalThis.gc?.();
  const afterGc = process.memoryUsage();
  const histogram = await host.metrics.deviceOverheadSeconds.get();
  const hostOverheadBuckets = histogram.values.filter((v) => v.metricName?.endsWith('_bucket')).map((v) => ({ leMs: Number(v.labels.le) * 1000, count: v.value }));
  await until('the outbox to drain', () => host.link.outbox.depth === 0);
  await host.close();

  // References, in this process after the host: the same parts (timing on), the same link (same device and data dir, so seq goes on).
  const ref = await openSimParts(file.parts, { timing: true });
  const link = DeviceLink.open({ url: job.mqttUrl, deviceId: job.deviceId, secret: job.secret, dataDir, kind: 'gate', logger: pino({ level: 'silent' }) });
  const bareNfc: number[] = [];
  const bareSettle: number[] = [];
  try {
    await until('the reference link to connect', () => link.connected);
    const fare = fareFor(job.config.fareTable!, job.fromStation, job.stationId);
    const purchase = { merchant: job.config.merchant, amount: { minor: fare.minor, currency: fare.currency }, article: fare.article, quantity: 1 };
    for (let i = 0; i < job.refs; i += 1) {
      const draft = { requestId: uuidv7(), purchase, outcomeDeadlineSec: 120 };
      const { ms, auth } = await bareExchange(ref.parts.nfc!, ref.sim, phones[i % phones.length]!, draft, i % (bareRefPhaseMaxMs + 1), job.deviceId);
      bareNfc.push(ms);
      const s0 = performance.now();
      const result = await link.settle({ ...draft, wallet: auth });
      bareSettle.push(performance.now() - s0);
      if (result.status !== 'approved') throw new Error(`device bench: reference settle ${result.status} (${result.reason ?? ''})`);
      await link.outcome({ settleRequestId: draft.requestId, outcome: 'passed', detail: 'bench reference' });
    }
  } finally {
    await link.close();
    await ref.parts.close();
  }
  const report: DeviceReport = { event: 'report', readyMs, hostReadyMs, processReadyMs, rssBytes: rss, heapUsedBytes: heapUsed, heapTotalBytes: heapTotal, heapUsedAfterGcBytes: afterGc.heapUsed, rssAfterGcBytes: afterGc.rss, taps, refused, hostOverheadBuckets, bareNfc, bareSettle };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
