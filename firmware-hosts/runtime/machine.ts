/**
 * The explicit state machine every device host runs (DESIGN §7): a table of
 * allowed transitions, checked on every move; every transition logged (pino)
 * with how long the previous state lasted; every wait bounded by a timeout
 * that names what was awaited. A move the table does not allow is a bug in
 * the host and throws TS_ERR_MACHINE_TRANSITION; the host then fails closed.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RuntimeError } from './errors.ts';

export interface Transition<S extends string> {
  from: S;
  to: S;
  at: number;
  /** How long the machine stayed in `from`. */
  stayedMs: number;
  why?: string;
}

/** Transitions kept for the health endpoint and tests; older ones are in the log. */
export const machineHistoryMax = 64;

export type MachineTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export class StateMachine<S extends string> extends EventEmitter<{ transition: [Transition<S>] }> {
  private current: S;
  private since: number;
  private readonly recent: Transition<S>[] = [];
  transitions = 0;

  constructor(
    readonly name: string,
    private readonly table: MachineTable<S>,
    initial: S,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    super();
    this.current = initial;
    this.since = clock();
  }

  get state(): S {
    return this.current;
  }

  /** Milliseconds spent in the current state. */
  get inStateMs(): number {
    return this.clock() - this.since;
  }

  get history(): readonly Transition<S>[] {
    return this.recent;
  }

  can(to: S): boolean {
    return this.table[this.current].includes(to);
  }

  /** Moves to `to`, or throws TS_ERR_MACHINE_TRANSITION when the table does not allow it. */
  to(to: S, why?: string, fields: Record<string, unknown> = {}): void {
    if (!this.can(to)) {
      this.log.error({ machine: this.name, from: this.current, to, why }, 'transition not allowed');
      throw new RuntimeError('TS_ERR_MACHINE_TRANSITION', `${this.name}: ${this.current} → ${to} is not an allowed transition`);
    }
    const now = this.clock();
    const t: Transition<S> = { from: this.current, to, at: now, stayedMs: now - this.since, ...(why !== undefined ? { why } : {}) };
    this.current = to;
    this.since = now;
    this.transitions += 1;
    this.recent.push(t);
    if (this.recent.length > machineHistoryMax) this.recent.shift();
    this.log.info({ machine: this.name, from: t.from, to, stayedMs: t.stayedMs, why, ...fields }, 'transition');
    this.emit('transition', t);
  }
}

export type Bounded<T> = { ok: true; value: T } | { ok: false; timedOut: true; what: string };

/**
 * Waits for `promise` at most `timeoutMs`. A rejection passes through; a
 * timeout resolves `{ ok: false }` so the caller must decide what it means
 * (usually: fail closed). The promise itself keeps running.
 */
export async function bounded<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<Bounded<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Bounded<T>>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, timedOut: true, what }), timeoutMs);
  });
  try {
    return await Promise.race([promise.then((value) => ({ ok: true as const, value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
