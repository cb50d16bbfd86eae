/**
 * A server's unit of work held open across awaits: LedgerStore.transaction
 * takes a callback, and the sharded store needs several servers' units of
 * work open at once and must choose when, and in which order, each commits.
 * The callback here parks on a gate until `finish(commit)` opens it.
 */
import type { LedgerStore, LedgerTx } from '../ledger-store.ts';

const rollbackSignal = new Error('sharded store: roll back this server');

export interface HeldTx {
  tx: LedgerTx;
  /** Commits (durably, when it resolves) or rolls back the server's unit of work. */
  finish(commit: boolean): Promise<void>;
}

export async function holdTransaction(store: LedgerStore): Promise<HeldTx> {
  let release!: (commit: boolean) => void;
  const gate = new Promise<boolean>((resolve) => { release = resolve; });
  let opened!: (tx: LedgerTx) => void;
  const ready = new Promise<LedgerTx>((resolve) => { opened = resolve; });
  const done = store.transaction(async (tx) => {
    opened(tx);
    if (!(await gate)) throw rollbackSignal;
  });
  // The store may refuse before it runs the callback (closed, not migrated): then `done` rejects and `ready` never resolves.
  const tx = await Promise.race([ready, done.then(() => { throw new Error('sharded store: a server finished a unit of work it never opened'); })]);
  return {
    tx,
    async finish(commit) {
      release(commit);
      try {
        await done;
      } catch (err) {
        if (!(err === rollbackSignal && !commit)) throw err;
      }
    },
  };
}
