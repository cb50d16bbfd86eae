/** npm run bench [-- --json]: every benchmark in turn, each in its own process so none warms the other. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const benches = ['hot-path.bench.ts', 'core.bench.ts', 'gateway.bench.ts', 'device.bench.ts'];
const args = process.argv.slice(2);
let failed = false;
for (const bench of benches) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, bench), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${bench} failed (exit ${r.status ?? r.signal})`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
