/**
 * npm run bench:core [-- --json] [--accounts N] [--settlements N] [--inflight N]
 *   [--store sqlite|postgres|sharded] [--servers N] [--hot] [--threads] [--no-floor]
 *
 * Durable (synchronous=FULL) in-process settlement throughput of the core on
 * SQLite, with random payers among ≥ 100,000 customers and random payees,
 * beside the floor measured in the same run: the same rows (journal entry,
 * withdraw transfer, balance updates; then deposit transfer, journal update,
 * balance updates) written by plain better-sqlite3 batched statements with
 * no engine around them. Target: ≥ 50,000 settlements/s and ≥ 0.6 of the floor.
 * `--store` and `--servers` choose the store (bench/core-stores.ts); `--hot`
 * sends every payment to one merchant (hot on the sharded store);
 * `--threads` serves each SQLite file from a worker thread, and the report
 * adds where the time went: the main thread's busy share while settling, and
 * per batch the calls to the workers, their bytes, the main thread's
 * time cloning them, and each server's commit (bench/core-threads.ts). The floor
 * is the single SQLite file's in every case (`--no-floor` skips it: the
 * matrix, bench/core-matrix.ts, measures it once for all).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveDeviceKey, uuidv7, walletCryptogram } from '../protocol/index.ts';
import type { Purchase } from '../protocol/index.ts';
import { SettlementCore } from '../settlement-core/index.ts';
import { benchStoreFromArgs } from './core-stores.ts';
import { writeFloor } from './core-floor.ts';
import { threadFigures } from './core-threads.ts';
import { flag, machine, option, percentile, report, round } from './lib.ts';

const accountsN = option('accounts', 100_000);
const settlementsN = option('settlements', 200_000);
/** Requests outstanding at once: many devices waiting for their answers. */
const inflight = option('inflight', 4000);
const merchantsN = 20;
const batchSizeMax = option('batch', 1000);
const log = (msg: string) => { if (!flag('json')) console.error(msg); };

const issuerMasterKey = randomBytes(32);
const deviceMasterKey = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), 'tapsettle-bench-'));

try {
  const commitMs: number[] = [];
  const bench = benchStoreFromArgs(dir);
  const store = bench.store;
  const deviceKeys = new Map<string, Buffer>();
  const deviceKey = (id: string): Buffer => {
    let key = deviceKeys.get(id);
    if (!key) deviceKeys.set(id, (key = deriveDeviceKey(deviceMasterKey, id)));
    return key;
  };
  const core = await SettlementCore.open({
    store, issuerMasterKey, deviceKey, scheduler: false,
    limits: { batchSizeMax, queueLengthMax: inflight * 4 },
    onBatch: (b) => commitMs.push(b.transactionMs),
  });
  log(`seeding ${accountsN} customers, ${merchantsN} merchants …`);
  await core.initCurrency('EUR');
  const merchants = await core.openAccounts(Array.from({ length: merchantsN }, (_, i) => ({ kind: 'merchant' as const, branch: bench.merchantBranch(i, merchantsN), currency: 'EUR', name: `Merchant ${i}` })));
  await bench.afterSeed(merchants[0]!.id);
  const devices = merchants.map((m, i) => ({ id: `dev-${i}`, merchant: m.id }));
  for (const d of devices) await core.registerDevice({ id: d.id, kind: 'vending', merchant: d.merchant });
  const wallets: { walletId: string; walletKey: Buffer }[] = [];
  const chunk = 10_000;
  for (let i = 0; i < accountsN; i += chunk) {
    const n = Math.min(chunk, accountsN - i);
    const accounts = await core.openAccounts(Array.from({ length: n }, (_, j) => ({ kind: 'customer' as const, branch: 1 + ((i + j) % 999), currency: 'EUR', name: `C${i + j}` })));
    await core.fundMany(accounts.map((a, j) => ({ account: a.id, amount: 1_000_000, reference: `seed-${i + j}` })));
    for (const e of await core.enrollWallets(accounts.map((a) => a.id))) wallets.push({ walletId: e.wallet.id, walletKey: e.walletKey });
  }

  log(`signing ${settlementsN} requests …`);
  const counters = new Map<string, number>();
  const payloads: { device: string; json: string }[] = [];
  for (let i = 0; i < settlementsN; i += 1) {
    const w = wallets[Math.floor(Math.random() * wallets.length)]!;
    const d = bench.hot ? devices[0]! : devices[Math.floor(Math.random() * devices.length)]!;
    const counter = (counters.get(w.walletId) ?? 0) + 1;
    counters.set(w.walletId, counter);
    const purchase: Purchase = { merchant: d.merchant, amount: { minor: 1 + Math.floor(Math.random() * 500), currency: 'EUR' }, article: 'cola-330', quantity: 1 };
    const deviceNonce = randomBytes(16).toString('hex');
    const cryptogram = walletCryptogram(w.walletKey, { walletId: w.walletId, deviceId: d.id, purchase, deviceNonce, counter });
    payloads.push({ device: d.id, json: JSON.stringify({ v: 1, type: 'settle', requestId: uuidv7(), sentAt: Date.now(), deviceId: d.id, purchase, wallet: { walletId: w.walletId, counter, deviceNonce, cryptogram } }) });
  }

  log('settling …');
  commitMs.length = 0;
  const workersBefore = bench.workerStats();
  const eluBefore = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  const hooks = globalThis as { __startProfile?: () => Promise<void>; __stopProfile?: () => Promise<void> };
  await hooks.__startProfile?.();
  const latencies: number[] = [];
  let approved = 0;
  const started = performance.now();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    let outstanding = 0;
    const pump = () => {
      while (outstanding < inflight && next < payloads.length) {
        const p = payloads[next++]!;
        const t0 = performance.now();
        outstanding += 1;
        core.settle(p.device, p.json).then((r) => {
          latencies.push(performance.now() - t0);
          if (r.kind === 'result' && r.result.status === 'approved') approved += 1;
          outstanding -= 1;
          if (next < payloads.length) pump();
          else if (outstanding === 0) resolve();
        }, reject);
      }
    };
    pump();
  });
  const answeredMs = performance.now() - started;
  await core.drain();
  const elapsedMs = performance.now() - started;
  const mainThreadBusy = performance.eventLoopUtilization(eluBefore).utilization;
  const cpu = process.cpuUsage(cpuBefore);
  // Cores this process kept busy while settling, every thread counted (the machine has os.availableParallelism()).
  const coresUsed = (cpu.user + cpu.system) / 1000 / elapsedMs;
  const threads = threadFigures(workersBefore, bench.workerStats(), commitMs.length);
  await hooks.__stopProfile?.();
  const auditStarted = performance.now();
  const audit = await core.audit();
  const auditMs = performance.now() - auditStarted;
  await core.close();
  if (approved !== settlementsN) throw new Error(`only ${approved} of ${settlementsN} approved`);
  if (!audit.ok) throw new Error(`audit failed: ${JSON.stringify(audit.checks.filter((c) => !c.ok))}`);

  await bench.cleanup();
  const skipFloor = flag('no-floor');
  if (!skipFloor) log('floor: the same rows with plain batched statements …');
  const floor = skipFloor ? { perSec: NaN } : writeFloor(join(dir, 'floor.db'), { accounts: accountsN, settlements: settlementsN, merchants: merchantsN, batchSizeMax, payloadBytes: payloads[0]!.json.length });

  latencies.sort((a, b) => a - b);
  commitMs.sort((a, b) => a - b);
  const settlementsPerSec = settlementsN / (elapsedMs / 1000);
  report(`core settlement benchmark (${bench.label}${bench.hot ? ', every payment to one merchant' : ''})`, {
    machine: machine(),
    store: bench.kind,
    servers: bench.servers,
    hot: bench.hot,
    threads: bench.threads,
    accounts: accountsN,
    settlements: settlementsN,
    inflight,
    batchSizeMax,
    settlementsPerSec: Math.round(settlementsPerSec),
    answeredPerSec: Math.round(settlementsN / (answeredMs / 1000)),
    ...(skipFloor ? {} : { floorPerSec: Math.round(floor.perSec), ratio: round(settlementsPerSec / floor.perSec, 2) }),
    p50LatencyMs: round(percentile(latencies, 50)),
    p99LatencyMs: round(percentile(latencies, 99)),
    p50CommitMs: round(percentile(commitMs, 50)),
    p99CommitMs: round(percentile(commitMs, 99)),
    batches: commitMs.length,
    mainThreadBusy: round(mainThreadBusy, 2),
    coresUsed: round(coresUsed, 2),
    cores: availableParallelism(),
    ...threads,
    auditMs: Math.round(auditMs),
    auditOk: audit.ok,
    target: '≥ 50000/s and ratio ≥ 0.6',
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
