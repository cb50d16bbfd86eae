/**
 * Codes from the keypad or scanner, queued (bounded) so the terminal reads
 * them at its own pace, one at a time, in its own loop — never acting
 * straight from a reader event.
 */
import type { CodeReader, CodeRejection } from '../../hardware/code-reader.ts';

/** Codes waiting to be read: a cashier types ahead a few; a scanner gone mad is cut off here. */
export const codesQueuedMax = 16;

export type InputItem = { code: string } | { rejected: CodeRejection };

export class InputQueue {
  private readonly items: InputItem[] = [];
  private wake: (() => void) | null = null;
  dropped = 0;
  private readonly onCode = (code: string): void => this.push({ code });
  private readonly onRejected = (rejected: CodeRejection): void => this.push({ rejected });

  constructor(private readonly reader: CodeReader) {}

  attach(): void {
    this.reader.on('code', this.onCode);
    this.reader.on('rejected', this.onRejected);
  }

  detach(): void {
    this.reader.off('code', this.onCode);
    this.reader.off('rejected', this.onRejected);
    this.interrupt();
  }

  private push(item: InputItem): void {
    if (this.items.length >= codesQueuedMax) {
      this.dropped += 1;
      return;
    }
    this.items.push(item);
    this.interrupt();
  }

  /** Ends a pending next() early (it resolves null). */
  interrupt(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next item, or null after waitMs (or an interrupt). */
  async next(waitMs: number): Promise<InputItem | null> {
    const first = this.items.shift();
    if (first !== undefined) return first;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, Math.max(0, waitMs));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return this.items.shift() ?? null;
  }

  /** Removes every queued item; returns how many there were. */
  drain(): number {
    const n = this.items.length;
    this.items.length = 0;
    return n;
  }

  /** True (and removes it) when `code` is queued: a cancel keyed while the terminal waits for a phone. */
  take(code: string): boolean {
    const at = this.items.findIndex((i) => 'code' in i && i.code === code);
    if (at < 0) return false;
    this.items.splice(at, 1);
    return true;
  }
}
