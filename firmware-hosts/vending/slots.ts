/**
 * What each slot of a vending machine can sell right now: its catalog item
 * (from the retained config), whether it is disabled after repeated failed
 * vends, and, when a capacity is set, how many articles are left. Pure
 * bookkeeping: the program decides what to show and what to publish.
 *
 * Kept in memory: a restart, like a refill visit (door opened and closed),
 * starts every slot full and enabled. A technician clears a jam and restarts;
 * a jam nobody cleared fails again and is refunded each time until disabled.
 */
import type { DeviceConfig, DeviceOutput } from '../../protocol/index.ts';
import type { VendingSettings } from './settings.ts';

export type CatalogItem = NonNullable<DeviceConfig['catalog']>[number];

export type SlotRefusal = 'unknown-slot' | 'no-price' | 'sold-out' | 'disabled' | 'no-config';

export type Offer = { ok: true; slot: string; relay: string; item: CatalogItem } | { ok: false; slot: string; why: SlotRefusal };

interface SlotState {
  relay: string;
  capacity: number | null;
  sold: number;
  failures: number;
  disabled: boolean;
}

export class SlotBook {
  private readonly slots = new Map<string, SlotState>();

  constructor(private readonly settings: Pick<VendingSettings, 'slots' | 'failuresBeforeDisable'>) {
    for (const [code, s] of Object.entries(settings.slots)) this.slots.set(code, { relay: s.relay, capacity: s.capacity ?? null, sold: 0, failures: 0, disabled: false });
  }

  get codes(): string[] {
    return [...this.slots.keys()];
  }

  /** What the customer may buy from `code`, or why not. */
  offer(code: string, config: DeviceConfig | null): Offer {
    const slot = this.slots.get(code);
    if (slot === undefined) return { ok: false, slot: code, why: 'unknown-slot' };
    if (config === null) return { ok: false, slot: code, why: 'no-config' };
    const item = config.catalog?.find((i) => i.slot === code);
    if (item === undefined) return { ok: false, slot: code, why: 'no-price' };
    if (slot.disabled) return { ok: false, slot: code, why: 'disabled' };
    if (slot.capacity !== null && slot.sold >= slot.capacity) return { ok: false, slot: code, why: 'sold-out' };
    return { ok: true, slot: code, relay: slot.relay, item };
  }

  /** Records a vend: a drop resets the slot's failures; a failure counts, and `disabledNow` says it was the one that disabled the slot. */
  record(code: string, dispensed: boolean): { disabledNow: boolean; failures: number } {
    const slot = this.slots.get(code);
    if (slot === undefined) return { disabledNow: false, failures: 0 };
    if (dispensed) {
      slot.failures = 0;
      slot.sold += 1;
      return { disabledNow: false, failures: 0 };
    }
    slot.failures += 1;
    const disabledNow = !slot.disabled && slot.failures >= this.settings.failuresBeforeDisable;
    if (disabledNow) slot.disabled = true;
    return { disabledNow, failures: slot.failures };
  }

  /** A refill visit: every slot full again, every disabled slot enabled. */
  refill(): void {
    for (const slot of this.slots.values()) Object.assign(slot, { sold: 0, failures: 0, disabled: false });
  }

  /** True when no slot can vend at all (each is disabled). */
  allDisabled(): boolean {
    return [...this.slots.values()].every((s) => s.disabled);
  }

  isDisabled(code: string): boolean {
    return this.slots.get(code)?.disabled === true;
  }

  outputs(config: DeviceConfig | null): DeviceOutput[] {
    return [...this.slots].map(([code, s]) => {
      const o = this.offer(code, config);
      const left = s.capacity === null ? '' : ` ${s.capacity - s.sold} left`;
      const state = o.ok ? `enabled${left}` : o.why === 'disabled' ? `disabled after ${s.failures} failures` : o.why;
      return { name: `slot ${code}`.slice(0, 32), kind: 'slot' as const, state };
    });
  }

  report(): Record<string, { failures: number; disabled: boolean; sold: number }> {
    return Object.fromEntries([...this.slots].map(([code, s]) => [code, { failures: s.failures, disabled: s.disabled, sold: s.sold }]));
  }
}

/** What the display says for a refusal, without a tap. */
export const refusalText: Readonly<Record<SlotRefusal, (slot: string) => string>> = {
  'unknown-slot': (slot) => `No slot ${slot}. Choose again.`,
  'no-price': (slot) => `${slot} is not for sale.`,
  'sold-out': (slot) => `${slot} is sold out.`,
  disabled: (slot) => `${slot} is out of order.`,
  'no-config': () => 'Not ready: no catalog yet.',
};
