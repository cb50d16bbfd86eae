/**
 * The crash test: the core runs in a child process under load and is
 * SIGKILLed at random moments, at least 20 times, then restarted on the same
 * database (which redelivers recent requests). Every request that was
 * answered must be in the ledger exactly once with the answer it was given,
 * and after recovery the audit must pass.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteLedgerStore, audit } from '../../settlement-core/index.ts';
import { expectAnsweredOnce } from './crash-checks.ts';
import type { Answer } from './crash-checks.ts';
import type { CrashSetup } from './crash-worker.ts';
import { Clock, openCore, seedStation, tempDir } from './fixtures.ts';

const kills = 22;
const worker = join(import.meta.dirname, 'crash-worker.ts');


function runWorker(db: string, setupPath: string, start: number, count: number, killAfterMs: number | null): Promise<{ answers: Map<number, Answer>; finished: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, db, setupPath, String(start), String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const answers = new Map<number, Answer>();
    let buffered = '';
    let stderr = '';
    let finished = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!; // a line cut by the kill is not an answer
      for (const line of lines) {
        if (line === 'ready' && killAfterMs !== null) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        if (line === 'done') finished = true;
        const m = /^R (\d+) (approved|declined) ([0-9a-f]{64})$/.exec(line);
        if (m) answers.set(Number(m[1]), { status: m[2]!, hash: m[3]! });
      }
    });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve({ answers, finished });
      else reject(new Error(`worker exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

describe('crash recovery', () => {
  it(`keeps every answered request exactly once across ${kills} SIGKILLs`, async () => {
    const t = tempDir('tapsettle-crash-');
    try {
      const db = join(t.dir, 'ledger.db');
      const clock = new Clock(Date.now());
      const s = await seedStation(await openCore(db, { clock: clock.read }), clock, Array.from({ length: 40 }, (_, i) => ({ balance: i % 8 === 0 ? 200 : 50_000 })));
      await s.core.close();
      const setup: CrashSetup = { walletIds: s.wallets.map((w) => w.walletId), device: s.device, merchant: s.merchant };
      const setupPath = join(t.dir, 'setup.json');
      writeFileSync(setupPath, JSON.stringify(setup));

      const answered = new Map<number, Answer>();
      let next = 0;
      let redelivered = 0;
      for (let round = 0; round < kills; round += 1) {
        const start = Math.max(0, next - 40); // resend the tail of the last round: redeliveries across a crash
        const { answers } = await runWorker(db, setupPath, start, 3000, 100 + Math.floor(Math.random() * 400));
        for (const [i, a] of answers) {
          const before = answered.get(i);
          if (before) {
            expect(a, `request ${i} answered differently after a restart`).toEqual(before);
            redelivered += 1;
          } else answered.set(i, a);
          next = Math.max(next, i + 1);
        }
      }
      const last = await runWorker(db, setupPath, Math.max(0, next - 40), 100, null);
      expect(last.finished).toBe(true);
      for (const [i, a] of last.answers) if (answered.has(i)) expect(a).toEqual(answered.get(i));
      console.log(`crash test: ${kills} kills, ${answered.size} requests answered, ${redelivered} answered again after a restart`);
      expect(answered.size).toBeGreaterThan(kills * 20);
      expect(redelivered).toBeGreaterThan(0);

      // Recovery: open, let every deadline and cooling-off pass, drive everything to a final state.
      await new Promise((r) => setTimeout(r, 1100));
      const core = await openCore(db);
      await core.runDue();
      await core.close();

      const store = new SqliteLedgerStore({ path: db });
      await store.migrate();
      try {
        await expectAnsweredOnce(store, setup.device, answered);
        const report = await audit(store);
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      t.cleanup();
    }
  }, 240_000);
});
