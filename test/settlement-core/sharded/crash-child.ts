/**
 * Child process of crash.test.ts (not named crash-worker.ts: ../crash-worker.ts runs itself when the process's script ends so): a settlement core on three SQLite servers
 * under load. The parent SIGKILLs it at random moments; or it kills itself
 * at a chosen point — after the payers' servers committed a deposit's send
 * and before the payee's credit ("credits"), or after server 1 committed and
 * before the others ("server"). Output as in ../crash-worker.ts:
 *   R <index> <status> <sha256 of the result JSON>
 */
import { readFileSync } from 'node:fs';
import { driveLoad } from '../crash-worker.ts';
import type { CrashSetup } from '../crash-worker.ts';
import { openShardedCore, openSqliteSharded } from './helpers.ts';

export type KillPoint = 'none' | 'credits' | 'server';

async function main(): Promise<void> {
  const [dir, setupPath, startArg, countArg, point, afterArg] = process.argv.slice(2);
  const setup = JSON.parse(readFileSync(setupPath!, 'utf8')) as CrashSetup;
  const start = Number(startArg);
  const count = Number(countArg);
  let left = Number(afterArg);
  const die = () => {
    if ((left -= 1) >= 0) return;
    process.stdout.write(`dying at ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  const store = openSqliteSharded(dir!, 3, {
    faults: {
      beforeCredits: () => { if (point === 'credits') die(); },
      afterServerCommit: (s) => { if (point === 'server' && s === 1) die(); },
    },
  });
  const core = await openShardedCore(store, { scheduler: true, limits: { duePollMs: 50, batchSizeMax: 200 } });
  process.stdout.write('ready\n');
  await driveLoad(core, setup, start, count);
  await core.drain();
  process.stdout.write('done\n');
  await core.close();
}

if (process.argv[1]?.endsWith('crash-child.ts')) await main();
