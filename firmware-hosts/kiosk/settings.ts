/**
 * The `kiosk` section of a ticket kiosk's device file: how long each wait of
 * a sale may take. Every number is bounded; every default is named here and
 * listed in docs/devices/kiosk.md.
 */
import { z } from 'zod';
import { limits } from '../../protocol/index.ts';
import { exchangeTimeoutMsMax } from '../../hardware/wallet-client.ts';

export const kioskDefaults = {
  /** After a ticket is chosen, how long the kiosk waits for a phone before it forgets the choice: a customer reading the screen. */
  tapWaitMs: 30_000,
  /** One wait for a phone in the field; the loop looks at a new choice, a fault or a stop between waits. */
  tapPollMs: 250,
  /** The verified result of a settle; past it the customer is told the ticket will show in the wallet app if it was paid. */
  settleTimeoutMs: 5_000,
  /** What the kiosk promises the core: an outcome within this time, or the core refunds. Covers a late answer after a long outage. */
  outcomeDeadlineSec: 600,
  /** The acknowledgement of an outcome (the outcome itself is in the outbox and resent until answered). */
  outcomeAckTimeoutMs: 10_000,
  /** One APDU round trip with the phone (AUTHORIZE PURCHASE, PUT TICKET). */
  exchangeTimeoutMs: 1_000,
  /** How long stop() waits for a sale in progress before it gives up on it (its entries stay in the outbox). */
  stopWaitMs: 10_000,
} as const;

const ms = (min: number, max: number, dflt: number) => z.number().int().min(min).max(max).default(dflt);

export const KioskSection = z.strictObject({
  tapWaitMs: ms(1_000, 600_000, kioskDefaults.tapWaitMs),
  tapPollMs: ms(10, 5_000, kioskDefaults.tapPollMs),
  settleTimeoutMs: ms(100, 120_000, kioskDefaults.settleTimeoutMs),
  outcomeDeadlineSec: z.number().int().min(10).max(limits.outcomeDeadlineSecMax).default(kioskDefaults.outcomeDeadlineSec),
  outcomeAckTimeoutMs: ms(100, 3_600_000, kioskDefaults.outcomeAckTimeoutMs),
  exchangeTimeoutMs: ms(50, exchangeTimeoutMsMax, kioskDefaults.exchangeTimeoutMs),
  stopWaitMs: ms(100, 120_000, kioskDefaults.stopWaitMs),
}).superRefine((s, ctx) => {
  // A result that may still arrive must find the core still waiting for the outcome, or the core refunds a ticket the phone holds.
  if (s.outcomeDeadlineSec * 1000 <= s.settleTimeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['outcomeDeadlineSec'], message: `must be longer than settleTimeoutMs (${s.settleTimeoutMs} ms)` });
  }
}).default({ ...kioskDefaults });
export type KioskSettings = z.output<typeof KioskSection>;
