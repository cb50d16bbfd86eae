/**
 * Crash recovery across servers: the core on three SQLite servers runs in a
 * child process and dies — SIGKILLed by the parent at random moments, or
 * killing itself between a deposit's send on the payer's server and its
 * credit on the payee's, or between one server's commit and the next. It is
 * restarted on the same files each time (redelivering the tail of what it
 * sent). Every answered request must be in the ledger exactly once with the
 * answer given, and after recovery every entry is final, every credit
 * delivered, and the global audit passes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ShardedAuditReport } from '../../../settlement-core/store/sharded/index.ts';
import { expectAnsweredOnce } from '../crash-checks.ts';
import type { Answer } from '../crash-checks.ts';
import type { CrashSetup } from '../crash-worker.ts';
import { Clock, tempDir } from '../fixtures.ts';
import type { KillPoint } from './crash-child.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

const worker = join(import.meta.dirname, 'crash-child.ts');
/** Each round: how it dies. Random kills, then kills at the two points between servers, in turn. */
const rounds: { point: KillPoint; after: number }[] = Array.from({ length: 12 }, (_, i) => (
  i % 3 === 0 ? { point: 'none', after: 0 } : { point: i % 3 === 1 ? 'credits' : 'server', after: 1 + (i % 4) }
));


function runWorker(dir: string, setupPath: string, start: number, count: number, point: KillPoint, after: number, killAfterMs: number | null): Promise<{ answers: Map<number, Answer>; finished: boolean; killed: boolean; selfKilled: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, dir, setupPath, String(start), String(count), point, String(after)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const answers = new Map<number, Answer>();
    let buffered = '';
    let stderr = '';
    let finished = false;
    let selfKilled = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready' && killAfterMs !== null) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        if (line === 'done') finished = true;
        if (line.startsWith('dying at ')) selfKilled = true;
        const m = /^R (\d+) (approved|declined) ([0-9a-f]{64})$/.exec(line);
        if (m) answers.set(Number(m[1]), { status: m[2]!, hash: m[3]! });
      }
    });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve({ answers, finished, killed: signal === 'SIGKILL', selfKilled });
      else reject(new Error(`worker exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

describe('crash recovery across servers', () => {
  it(`keeps every answered request exactly once across ${rounds.length} kills, some between the payer's and the payee's server`, async () => {
    const t = tempDir('tapsettle-sharded-crash-');
    try {
      const clock = new Clock(Date.now());
      const seeded = await seedShardedStation(await openShardedCore(openSqliteSharded(t.dir, 3), { clock: clock.read }), clock, Array.from({ length: 30 }, (_, i) => (i % 8 === 0 ? 200 : 50_000)));
      await seeded.core.close();
      const setup: CrashSetup = { walletIds: seeded.wallets.map((w) => w.walletId), device: seeded.device, merchant: seeded.merchant };
      const setupPath = join(t.dir, 'setup.json');
      writeFileSync(setupPath, JSON.stringify(setup));

      const answered = new Map<number, Answer>();
      let next = 0;
      let redelivered = 0;
      let killed = 0;
      let selfKilled = 0;
      for (const round of rounds) {
        const start = Math.max(0, next - 40);
        const r = await runWorker(t.dir, setupPath, start, 2000, round.point, round.after, round.point === 'none' ? 150 + Math.floor(Math.random() * 400) : 4000);
        if (r.killed) killed += 1;
        if (r.selfKilled) selfKilled += 1;
        for (const [i, a] of r.answers) {
          const before = answered.get(i);
          if (before) {
            expect(a, `request ${i} answered differently after a restart`).toEqual(before);
            redelivered += 1;
          } else answered.set(i, a);
          next = Math.max(next, i + 1);
        }
      }
      const last = await runWorker(t.dir, setupPath, Math.max(0, next - 40), 100, 'none', 0, null);
      expect(last.finished).toBe(true);
      console.log(`sharded crash test: ${killed} kills (${selfKilled} between servers), ${answered.size} requests answered, ${redelivered} answered again after a restart`);
      expect(killed).toBeGreaterThanOrEqual(rounds.length - 2);
      expect(selfKilled).toBeGreaterThan(rounds.length / 3);
      expect(answered.size).toBeGreaterThan(rounds.length * 20);

      await new Promise((r) => setTimeout(r, 1100)); // every deadline and cooling-off passes
      const store = openSqliteSharded(t.dir, 3);
      const core = await openShardedCore(store);
      try {
        await core.runDue();
        await expectAnsweredOnce(store, setup.device, answered);
        const report = (await core.audit()) as ShardedAuditReport;
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
        expect(report.inFlight.count).toBe(0);
      } finally {
        await core.close();
      }
    } finally {
      t.cleanup();
    }
  }, 300_000);
});
