/**
 * npx tsx bench/core-matrix.ts [-- --json] [--accounts N] [--settlements N] [--threads]
 *
 * bench:core on every store of issue 7 in one run, each in its own process
 * (none warms another), beside the reference measured once in this run: the
 * floor (plain batched SQLite statements, bench/core-floor.ts). Rows: SQLite;
 * the sharded store on one, two and four SQLite servers; four servers with
 * every payment to one hot merchant; PostgreSQL when TAPSETTLE_PG_URL is set.
 * `--threads` adds the sharded rows again with every server's SQLite file in
 * its own worker thread (settlement-core/store/worker/), and their ratios.
 * Targets: four servers ≥ 1.5 × one; hot ≥ 0.8 × uniform on the sharded store.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFloor } from './core-floor.ts';
import { flag, machine, option, round } from './lib.ts';

const accounts = option('accounts', 20_000);
const settlements = option('settlements', 40_000);
const rows: { name: string; args: string[] }[] = [
  { name: 'sqlite', args: ['--store', 'sqlite'] },
  { name: 'sharded-1', args: ['--store', 'sharded', '--servers', '1'] },
  { name: 'sharded-2', args: ['--store', 'sharded', '--servers', '2'] },
  { name: 'sharded-4', args: ['--store', 'sharded', '--servers', '4'] },
  { name: 'sharded-4-hot', args: ['--store', 'sharded', '--servers', '4', '--hot'] },
  ...(process.env.TAPSETTLE_PG_URL ? [{ name: 'postgres', args: ['--store', 'postgres'] }] : []),
];
const threads = flag('threads');
if (threads) {
  for (const row of rows.filter((r) => r.name.startsWith('sharded-'))) rows.push({ name: `${row.name}-threads`, args: [...row.args, '--threads'] });
}

const results: Record<string, number> = {};
for (const row of rows) {
  if (!flag('json')) console.error(`${row.name} …`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'core.bench.ts'), '--json', '--no-floor', '--accounts', String(accounts), '--settlements', String(settlements), ...row.args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${row.name} failed: ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop()!;
  results[row.name] = (JSON.parse(line) as { settlementsPerSec: number }).settlementsPerSec;
}
const dir = mkdtempSync(join(tmpdir(), 'tapsettle-bench-floor-'));
let floorPerSec: number;
try {
  // The same payload size as a settle request of bench:core (about 420 bytes).
  floorPerSec = Math.round(writeFloor(join(dir, 'floor.db'), { accounts, settlements, merchants: 20, batchSizeMax: 1000, payloadBytes: 420 }).perSec);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const figures = {
  machine: machine(), accounts, settlements, floorPerSec, ...results,
  fourOverOne: round(results['sharded-4']! / results['sharded-1']!, 2),
  hotOverUniform: round(results['sharded-4-hot']! / results['sharded-4']!, 2),
  ...(threads ? {
    fourOverOneThreads: round(results['sharded-4-threads']! / results['sharded-1-threads']!, 2),
    fourThreadsOverOneFile: round(results['sharded-4-threads']! / results['sharded-1']!, 2),
    hotOverUniformThreads: round(results['sharded-4-hot-threads']! / results['sharded-4-threads']!, 2),
  } : {}),
  targets: 'fourOverOne ≥ 1.5, hotOverUniform ≥ 0.8',
};
if (flag('json')) console.log(JSON.stringify(figures));
else {
  console.log('\ncore settlement benchmark across stores (settlements/s)');
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(16)}  ${String(v)}`);
}
