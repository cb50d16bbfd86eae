/**
 * The `vending` section of a vending machine's device file: which relay turns
 * each slot's spiral, which input is the drop sensor, and how long each wait
 * may last. What is sold in a slot (article, name, price, restrictions) is
 * not here: it comes from the gateway's retained catalog (CatalogItem.slot).
 */
import { z } from 'zod';
import { limits } from '../../protocol/index.ts';
import { relayPulseMsCeiling } from '../../hardware/relay.ts';

/** Slot codes as the customer types them on the keypad ("A1", "B12"); the catalog's `slot` field is at most 16 characters. */
export const SlotCode = z.string().min(1).max(16).regex(/^[A-Z0-9]+$/, 'upper-case letters and digits, as typed on the keypad');
const PartName = z.string().min(1).max(32);

/** A spiral turns within a minute; one ledger flight takes milliseconds. Every default below is named and bounded. */
export const vendingDefaults = {
  /** One spiral turn on a typical motor takes 1–2 s. */
  pulseMs: 1500,
  /** From the start of the pulse: the turn, plus the article's fall through the light curtain. */
  dropDeadlineMs: 4000,
  /** A slot that jams three times in a row is broken, not unlucky. */
  failuresBeforeDisable: 3,
  /** The core waits this long for `dispensed`/`vend-failed` before it refunds by itself. */
  outcomeDeadlineSec: 60,
  /** A customer who chose a slot and has not tapped within 30 s has walked away. */
  tapTimeoutMs: 30_000,
  /** How long the customer is kept waiting for the result before "try again" (the entry stays in the outbox). */
  settleTimeoutMs: 10_000,
  /** How long the host waits for the core to acknowledge an outcome before taking the next customer (it stays in the outbox). */
  outcomeAckTimeoutMs: 5_000,
  /** How long a refusal or result stays on the display before "Choose a slot". */
  messageMs: 3_000,
} as const;

/** What the outcome needs on top of the drop deadline to reach the core before its outcome deadline: a slow uplink's round trip. */
export const outcomeMarginMs = 5_000;

export const VendingSection = z.strictObject({
  /** Slot code → the relay that turns its spiral (a name under parts.relays). */
  slots: z.record(SlotCode, z.strictObject({
    relay: PartName,
    /** Articles a full spiral holds: the host counts what it sold and refuses the slot as sold out at zero. Absent: not counted. */
    capacity: z.number().int().min(1).max(1000).optional(),
  })).refine((s) => Object.keys(s).length >= 1, 'at least one slot').refine((s) => Object.keys(s).length <= limits.catalogItemsMax, `at most ${limits.catalogItemsMax} slots`),
  /** The input under parts.inputs that sees an article fall (kind drop-sensor). */
  dropSensor: PartName,
  /** The door switch under parts.inputs: closing the door after it was open is a refill visit (counts reset, disabled slots enabled). */
  doorSwitch: PartName.optional(),
  pulseMs: z.number().int().min(50).max(relayPulseMsCeiling).default(vendingDefaults.pulseMs),
  dropDeadlineMs: z.number().int().min(50).max(60_000).default(vendingDefaults.dropDeadlineMs),
  failuresBeforeDisable: z.number().int().min(1).max(100).default(vendingDefaults.failuresBeforeDisable),
  outcomeDeadlineSec: z.number().int().min(1).max(limits.outcomeDeadlineSecMax).default(vendingDefaults.outcomeDeadlineSec),
  tapTimeoutMs: z.number().int().min(1_000).max(300_000).default(vendingDefaults.tapTimeoutMs),
  settleTimeoutMs: z.number().int().min(100).max(120_000).default(vendingDefaults.settleTimeoutMs),
  outcomeAckTimeoutMs: z.number().int().min(100).max(120_000).default(vendingDefaults.outcomeAckTimeoutMs),
  messageMs: z.number().int().min(0).max(60_000).default(vendingDefaults.messageMs),
}).superRefine((s, ctx) => {
  if (s.dropDeadlineMs < s.pulseMs) ctx.addIssue({ code: 'custom', path: ['dropDeadlineMs'], message: `must be at least pulseMs (${s.pulseMs}): the article falls at the end of the turn` });
  if (s.outcomeDeadlineSec * 1000 < s.dropDeadlineMs + outcomeMarginMs) {
    ctx.addIssue({ code: 'custom', path: ['outcomeDeadlineSec'], message: `must leave the outcome ${outcomeMarginMs} ms after the drop deadline (${s.dropDeadlineMs} ms)` });
  }
});
export type VendingSettings = z.output<typeof VendingSection>;
