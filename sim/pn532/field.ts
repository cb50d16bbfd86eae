/**
 * The RF field of the virtual PN532: where simulated phones and tags are
 * placed (a tap) and removed (the customer walks away). Leaving the field
 * deactivates a target, as losing RF power does.
 */
import type { Iso14443aTarget } from '../nfc-target.ts';

/** A PN532 handles at most two targets at once (InListPassiveTarget MaxTg ≤ 2). */
export const fieldTargetsMax = 2;
/** Waiters on field changes: the chip has at most one command in flight, each with one or two waits. */
const listenersMax = 32;

export class RfField {
  private present: Iso14443aTarget[] = [];
  private readonly listeners = new Set<() => void>();
  /** Which entry into the field each present target is on: a target that left and came back is a new one to the chip. */
  private readonly placements = new Map<Iso14443aTarget, number>();
  private placementsMade = 0;

  get targets(): readonly Iso14443aTarget[] {
    return this.present;
  }

  has(target: Iso14443aTarget): boolean {
    return this.present.includes(target);
  }

  place(target: Iso14443aTarget): void {
    if (this.has(target)) return;
    if (this.present.length >= fieldTargetsMax) throw new RangeError(`the field already holds ${fieldTargetsMax} targets`);
    this.present.push(target);
    this.placements.set(target, ++this.placementsMade);
    this.notify();
  }

  /** The number of the target's current entry into the field; undefined when it is not in the field. */
  placementOf(target: Iso14443aTarget): number | undefined {
    return this.placements.get(target);
  }

  /** Removes one target, or all when none is named. */
  remove(target?: Iso14443aTarget): void {
    const leaving = this.present.filter((t) => target === undefined || t === target);
    this.present = this.present.filter((t) => !leaving.includes(t));
    for (const gone of leaving) this.placements.delete(gone);
    for (const gone of leaving) gone.deactivate();
    if (leaving.length > 0) this.notify();
  }

  /** Resolves at the next place/remove; rejects with signal's reason if aborted first. */
  nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.listeners.size >= listenersMax) {
        reject(new RangeError(`more than ${listenersMax} waiters on the field`));
        return;
      }
      const onChange = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.listeners.delete(onChange);
        reject(new Error('field wait aborted'));
      };
      this.listeners.add(onChange);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves once `target` is no longer in the field. */
  async left(target: Iso14443aTarget, signal: AbortSignal): Promise<void> {
    while (this.has(target)) await this.nextChange(signal);
  }

  private notify(): void {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}
