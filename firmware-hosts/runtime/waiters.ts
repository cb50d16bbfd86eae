/**
 * Promises waiting for the answer to an outbox entry. A timeout rejects the
 * waiter only: the entry stays in the outbox and is still resent, because the
 * result may yet come (and the money may already have moved).
 */
import { RuntimeError } from './errors.ts';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Waiters {
  private readonly byId = new Map<string, Waiter[]>();

  wait<T>(id: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const list = this.byId.get(id) ?? [];
      const waiter: Waiter = {
        resolve: (v) => resolve(v as T),
        reject,
        timer: setTimeout(() => {
          this.drop(id, waiter);
          reject(new RuntimeError('TS_ERR_LINK_TIMEOUT', `no verified answer for ${id} within ${timeoutMs} ms; it stays in the outbox`));
        }, timeoutMs),
      };
      list.push(waiter);
      this.byId.set(id, list);
    });
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  private drop(id: string, waiter: Waiter): void {
    const rest = (this.byId.get(id) ?? []).filter((w) => w !== waiter);
    if (rest.length === 0) this.byId.delete(id);
    else this.byId.set(id, rest);
  }

  settle(id: string, value: unknown): void {
    for (const w of this.byId.get(id) ?? []) {
      clearTimeout(w.timer);
      w.resolve(value);
    }
    this.byId.delete(id);
  }

  rejectAll(err: Error): void {
    for (const list of this.byId.values()) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.byId.clear();
  }
}

/** Waits for a promise at most waitMs; its failure or lateness is ignored (used only on shutdown). */
export async function withinMs(promise: Promise<unknown>, waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
}
