/**
 * Short memories of taps whose gate closed before anyone passed, so the
 * customer who taps again within the grace is neither refused (anti-
 * passback) nor charged twice. In memory only: a reboot forgets them, and
 * the customer is then treated as any other (documented in docs/devices/gate.md).
 */

/** A lane sees at most a few failed passages a minute; 256 is far beyond a two-minute grace. */
export const graceEntriesMax = 256;

export class GraceBook<T> {
  private readonly entries = new Map<string, { value: T; at: number }>();

  constructor(private readonly graceMs: number, private readonly clock: () => number) {}

  put(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.clock() });
    while (this.entries.size > graceEntriesMax) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** The value kept for `key` if still within the grace; it is used up. */
  take(key: string): T | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    return this.clock() - e.at <= this.graceMs ? e.value : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
