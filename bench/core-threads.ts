/**
 * bench:core --threads: where the time of worker-thread SQLite files went
 * while settling, from each WorkerLedgerStore's counters before and after.
 * Per batch (one unit of work of the core): calls to the workers, megabytes
 * sent, the main thread's time inside postMessage (cloning the calls: the
 * clone cost this side pays; answers are cloned back natively before their
 * event and are not in it); per commit of one server: from asking its worker to commit to the
 * answer (COMMIT and its fsync), the mean over servers.
 */
import type { WorkerStoreStats } from '../settlement-core/store/worker/index.ts';
import { round } from './lib.ts';

export function threadFigures(before: readonly WorkerStoreStats[], after: readonly WorkerStoreStats[], batches: number): Record<string, number> {
  if (after.length === 0 || batches === 0) return {};
  const d = after.map((a, i) => {
    const b = before[i]!;
    return { calls: a.calls - b.calls, bytes: a.bytesSent - b.bytesSent, postMs: a.postMs - b.postMs, commits: a.commits - b.commits, commitMs: a.commitMs - b.commitMs };
  });
  const sum = (f: (x: (typeof d)[number]) => number) => d.reduce((acc, x) => acc + f(x), 0);
  const commits = sum((x) => x.commits);
  return {
    workerCallsPerBatch: round(sum((x) => x.calls) / batches, 1),
    workerMbPerBatch: round(sum((x) => x.bytes) / batches / 2 ** 20, 2),
    postMsPerBatch: round(sum((x) => x.postMs) / batches, 2),
    serverCommitsPerBatch: round(commits / batches, 2),
    serverCommitMsMean: commits === 0 ? 0 : round(sum((x) => x.commitMs) / commits, 2),
  };
}
