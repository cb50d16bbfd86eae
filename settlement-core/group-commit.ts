/**
 * Group commit (DESIGN §6): requests that arrive together are decided and
 * made durable in one transaction, then answered. The queue is bounded; a
 * batch is bounded in size and in how long it waits to fill.
 *
 * Do not act straight from an external event: enqueue it, then process at
 * our own pace, in batches (TigerBeetle style). One batch runs at a time.
 */
import { CoreError } from './errors.ts';

export interface GroupCommitLimits {
  /** Commands per transaction. One commit per ~1,000 settlements reaches ~140k/s on these machines; more adds latency, not throughput. */
  batchSizeMax: number;
  /** Commands waiting, in all. Past this the caller is told `TS_ERR_OVERLOADED` and retries with the same request id. */
  queueLengthMax: number;
  /** How long the first command of a batch may wait for company, ms. 0 = the current event-loop turn only. */
  lingerMs: number;
}

export const defaultGroupCommitLimits: GroupCommitLimits = { batchSizeMax: 1000, queueLengthMax: 50_000, lingerMs: 0 };

export class GroupCommitter<C> {
  private readonly queue: C[] = [];
  private head = 0;
  private running = false;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly limits: GroupCommitLimits,
    /** Runs one batch; must settle every command in it (resolve or reject) itself. */
    private readonly execute: (batch: C[]) => Promise<void>,
    /** A command that must run in a transaction of its own (operator tasks). */
    private readonly solo: (c: C) => boolean,
  ) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 0 || (name !== 'lingerMs' && value < 1)) {
        throw new CoreError('TS_ERR_INVALID_ARGUMENT', `group commit limit ${name} must be a positive integer, got ${String(value)}`);
      }
    }
  }

  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Throws TS_ERR_OVERLOADED when the queue is full; the command was not taken. */
  submit(command: C): void {
    if (this.depth >= this.limits.queueLengthMax) {
      throw new CoreError('TS_ERR_OVERLOADED', `settlement queue is full (${this.limits.queueLengthMax}); retry with the same request id`);
    }
    this.queue.push(command);
    this.schedule();
  }

  /** Resolves when every command submitted so far has been executed. */
  idle(): Promise<void> {
    if (!this.running && this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      void this.run();
    };
    if (this.limits.lingerMs > 0) setTimeout(go, this.limits.lingerMs);
    else setImmediate(go);
  }

  private take(): C[] {
    const first = this.queue[this.head]!;
    if (this.solo(first)) {
      this.head += 1;
      return [first];
    }
    const batch: C[] = [];
    while (this.head < this.queue.length && batch.length < this.limits.batchSizeMax && !this.solo(this.queue[this.head]!)) {
      batch.push(this.queue[this.head]!);
      this.head += 1;
    }
    return batch;
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.depth > 0) {
        const batch = this.take();
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        await this.execute(batch);
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
