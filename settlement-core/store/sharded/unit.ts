/**
 * One unit of work of the sharded store: the servers' units of work it holds
 * open, opened as they are first needed (server 0 always first, so two
 * processes sharing the servers queue on it and never deadlock), committed
 * together at the end: every other server, then server 0.
 */
import type { LedgerStore, LedgerTx } from '../ledger-store.ts';
import { holdTransaction } from './open-tx.ts';
import type { HeldTx } from './open-tx.ts';

export interface UnitFaults {
  /** Called after each server's part committed, before the next (tests inject a crash here). */
  afterServerCommit?(server: number): void;
}

export class Unit {
  private readonly held = new Map<number, Promise<HeldTx>>();

  constructor(private readonly servers: readonly LedgerStore[], private readonly faults: UnitFaults = {}) {}

  /** Server 0's unit of work, opened first: the lock every writer of these servers queues on. */
  async begin(): Promise<void> {
    await this.tx(0);
  }

  tx(server: number): Promise<LedgerTx> {
    let h = this.held.get(server);
    if (!h) {
      h = holdTransaction(this.servers[server]!);
      this.held.set(server, h);
    }
    return h.then((x) => x.tx);
  }

  get open(): number[] {
    return [...this.held.keys()];
  }

  /**
   * Commits every server's part: the others at once, then server 0. Each
   * part is whole on its own (an entry with its withdrawal, a deposit's
   * send), so a failure part way leaves every server consistent; the caller
   * learns of it and the engine treats the batch as failed (the devices
   * retry and find what did commit).
   */
  async commit(): Promise<void> {
    const others = [...this.held.keys()].filter((s) => s !== 0);
    const results = await Promise.allSettled(others.map(async (s) => {
      await (await this.held.get(s)!).finish(true);
      this.faults.afterServerCommit?.(s);
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const zero = await this.held.get(0);
    if (failed) {
      await zero?.finish(false).catch(() => undefined);
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    if (zero) {
      await zero.finish(true);
      this.faults.afterServerCommit?.(0);
    }
  }

  async rollback(): Promise<void> {
    for (const h of this.held.values()) {
      const x = await h.catch(() => null);
      await x?.finish(false).catch(() => undefined);
    }
  }
}
