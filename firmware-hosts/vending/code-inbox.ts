/**
 * Slot codes typed on the keypad, taken at the program's pace: the keypad
 * only enqueues; the sale loop takes a code when it is ready for one. A code
 * typed while a sale runs is dropped and counted (the next customer chooses
 * when the display says so); while the machine waits for a choice, the last
 * code typed wins.
 */

/** One choice waits at most: a customer who types twice means the second. */
export const pendingCodesMax = 1;

export class CodeInbox {
  private pending: string[] = [];
  private waiter: ((code: string | null) => void) | null = null;
  private accepting = false;
  dropped = 0;

  /** Whether codes are taken now (the machine is waiting for a choice). */
  accept(on: boolean): void {
    this.accepting = on;
    if (!on) this.pending = [];
  }

  push(code: string): void {
    if (!this.accepting) {
      this.dropped += 1;
      return;
    }
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w(code);
      return;
    }
    this.pending.push(code);
    while (this.pending.length > pendingCodesMax) {
      this.pending.shift();
      this.dropped += 1;
    }
  }

  /** The next code, or null after `timeoutMs` (or when woken). */
  next(timeoutMs: number): Promise<string | null> {
    const code = this.pending.shift();
    if (code !== undefined) return Promise.resolve(code);
    this.wake();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiter === done) this.waiter = null;
        resolve(null);
      }, timeoutMs);
      const done = (c: string | null) => {
        clearTimeout(timer);
        resolve(c);
      };
      this.waiter = done;
    });
  }

  /** Ends a wait in progress with null (stop, or a fault to look at). */
  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.(null);
  }
}
