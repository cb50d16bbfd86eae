/**
 * Fleet scenarios as YAML files (docs/fleet.md): how many devices of each
 * kind, the phones and their funds, how many taps at what rate on which kinds,
 * what the vending machines sell, and timed events (the gateway going away or
 * restarting, a spiral jamming) and message faults. Validated with zod; every
 * error names the key. Every count and rate is bounded.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FleetError } from './errors.ts';

export const fleetLimits = {
  /** The brief's target fleet: 10,000 devices in one process on a 2-core machine (bench/RESULTS.md). */
  devicesMax: 10_000,
  /** Phones are cheap (a wallet applet in memory); 100k covers a busy station's rush hour. */
  phonesMax: 100_000,
  /** Taps per run: a million is hours of wall time at the rates a 2-core machine sustains. */
  tapsMax: 1_000_000,
  /** Customers at readers at the same time; each is a few polling timers. */
  concurrentTapsMax: 5_000,
  /** Events per scenario: a script, not a log. */
  eventsMax: 100,
  /** The gateway may stay away for at most an hour (a device's outcome deadline is at most an hour too). */
  awayMsMax: 3_600_000,
  /** A message is held back at most this long by the delay fault. */
  delayMsMax: 60_000,
  /** A scenario file is a page of YAML, not a data set. */
  fileBytesMax: 64 * 1024,
} as const;

const Slug = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');
const count = (max: number) => z.number().int().min(0).max(max);
const Probability = z.number().min(0).max(1);
const Weight = z.number().min(0).max(1_000_000);

export const DeviceCounts = z.strictObject({
  gate: count(fleetLimits.devicesMax).default(0),
  vending: count(fleetLimits.devicesMax).default(0),
  kiosk: count(fleetLimits.devicesMax).default(0),
  pos: count(fleetLimits.devicesMax).default(0),
});
export type DeviceCounts = z.output<typeof DeviceCounts>;

export const MessageFaults = z.strictObject({
  /** Probability that a PUBLISH (either direction) is dropped. */
  drop: Probability.default(0),
  /** Probability that a PUBLISH is sent twice. */
  duplicate: Probability.default(0),
  /** Probability that a PUBLISH is held back for delayMs. */
  delay: Probability.default(0),
  delayMs: z.number().int().min(1).max(fleetLimits.delayMsMax).default(200),
});
export type MessageFaults = z.output<typeof MessageFaults>;

const SlotSpec = z.strictObject({
  slot: z.string().min(1).max(16).regex(/^[A-Z0-9]+$/, 'upper-case letters and digits, as typed on the keypad'),
  priceMinor: z.number().int().min(1).max(100_000),
  /** Articles in the spiral; absent: not counted (never sold out). */
  capacity: z.number().int().min(1).max(1000).optional(),
  /** How often customers choose this slot, relative to the others. */
  weight: Weight.default(1),
});

const EventSpec = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('gateway-away'),
    /** Fires when this many taps have started. */
    atTap: count(fleetLimits.tapsMax),
    /** How long the gateway stays down before it starts again on the same data, port and keys. */
    forMs: z.number().int().min(0).max(fleetLimits.awayMsMax).default(60_000),
  }),
  z.strictObject({ action: z.literal('gateway-restart'), atTap: count(fleetLimits.tapsMax) }),
  z.strictObject({
    action: z.literal('jam'),
    atTap: count(fleetLimits.tapsMax),
    slot: SlotSpec.shape.slot,
    /** The first N vending machines jam (default: all). */
    devices: count(fleetLimits.devicesMax).optional(),
  }),
  z.strictObject({ action: z.literal('unjam'), atTap: count(fleetLimits.tapsMax), slot: SlotSpec.shape.slot }),
  z.strictObject({ action: z.literal('faults'), atTap: count(fleetLimits.tapsMax), faults: MessageFaults }),
]);
export type FleetEvent = z.output<typeof EventSpec>;

export const ScenarioSchema = z.strictObject({
  name: Slug,
  description: z.string().max(2000).default(''),
  /** Default seed; `--seed` overrides it. */
  seed: z.number().int().min(0).max(0xffff_ffff).default(1),
  devices: DeviceCounts.refine((d) => d.gate + d.vending + d.kiosk + d.pos >= 1, 'at least one device')
    .refine((d) => d.gate + d.vending + d.kiosk + d.pos <= fleetLimits.devicesMax, `at most ${fleetLimits.devicesMax} devices in all`),
  phones: z.strictObject({
    count: z.number().int().min(1).max(fleetLimits.phonesMax),
    /** Each funded phone's balance, minor units. */
    fundsMinor: z.number().int().min(0).max(100_000_000).default(10_000),
    /** Phones left at a zero balance (the "phone with no funds"); counted in `count`. */
    noFunds: count(fleetLimits.phonesMax).default(0),
    /** Phones on every device's deny list; counted in `count`. */
    denyListed: count(fleetLimits.phonesMax).default(0),
    /** Share of taps made by the no-funds and deny-listed phones (else they tap as often as anyone). */
    specialShare: Probability.optional(),
  }).refine((p) => p.noFunds + p.denyListed <= p.count, { message: 'noFunds + denyListed must not exceed count', path: ['noFunds'] }),
  taps: z.strictObject({
    count: z.number().int().min(0).max(fleetLimits.tapsMax),
    /** Arrival rate; 0 = as fast as concurrentMax allows. */
    perSecond: z.number().min(0).max(100_000).default(0),
    concurrentMax: z.number().int().min(1).max(fleetLimits.concurrentTapsMax).default(64),
    /** Relative share of taps per kind (kinds without devices get none). */
    mix: z.strictObject({ gate: Weight.default(1), vending: Weight.default(1), kiosk: Weight.default(1), pos: Weight.default(1) }).default({ gate: 1, vending: 1, kiosk: 1, pos: 1 }),
  }),
  gate: z.strictObject({
    fareMinor: z.number().int().min(1).max(100_000).default(150),
    /** What an exit gate does without a verified result in time. */
    offline: z.enum(['refuse', 'accept']).default('refuse'),
  }).default({ fareMinor: 150, offline: 'refuse' }),
  vending: z.strictObject({
    slots: z.array(SlotSpec).min(1).max(32)
      .refine((s) => new Set(s.map((x) => x.slot)).size === s.length, 'slot codes must be distinct'),
  }).default({ slots: [{ slot: 'A1', priceMinor: 150, weight: 1 }, { slot: 'A2', priceMinor: 200, weight: 1 }] }),
  pos: z.strictObject({
    amountMinMinor: z.number().int().min(1).max(100_000).default(100),
    amountMaxMinor: z.number().int().min(1).max(100_000).default(2_000),
  }).refine((p) => p.amountMinMinor <= p.amountMaxMinor, { message: 'must be at most amountMaxMinor', path: ['amountMinMinor'] })
    .default({ amountMinMinor: 100, amountMaxMinor: 2_000 }),
  kiosk: z.strictObject({
    priceMinor: z.number().int().min(1).max(100_000).default(250),
  }).default({ priceMinor: 250 }),
  /** Message faults from the first tap (an event may change them). */
  faults: MessageFaults.optional(),
  events: z.array(EventSpec).max(fleetLimits.eventsMax).default([]),
}).superRefine((s, ctx) => {
  s.events.forEach((e, i) => {
    if ((e.action === 'jam' || e.action === 'unjam') && !s.vending.slots.some((x) => x.slot === e.slot)) {
      ctx.addIssue({ code: 'custom', path: ['events', i, 'slot'], message: `no slot ${e.slot} under vending.slots` });
    }
  });
});
export type Scenario = z.output<typeof ScenarioSchema>;

/** The first issue as `key.path: message` (a zod error names the key in its path). */
export function describeScenarioIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return `${path === '' ? '(top level)' : path}: ${issue.message}`;
}

/** Validates a parsed YAML value; `where` names the file in the message. */
export function parseScenario(raw: unknown, where = 'scenario'): Scenario {
  const parsed = ScenarioSchema.safeParse(raw);
  if (!parsed.success) throw new FleetError('TS_ERR_SCENARIO_FILE', `${where}: ${describeScenarioIssue(parsed.error)}`);
  return parsed.data;
}

/** Parses scenario YAML text. */
export function parseScenarioText(text: string, where = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100, logLevel: 'error' });
  } catch (err) {
    throw new FleetError('TS_ERR_SCENARIO_FILE', `${where}: not YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  return parseScenario(raw, where);
}

export function loadScenario(path: string): Scenario {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new FleetError('TS_ERR_SCENARIO_FILE', `cannot read scenario file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > fleetLimits.fileBytesMax) throw new FleetError('TS_ERR_SCENARIO_FILE', `${path} is ${size} bytes; a scenario file may be at most ${fleetLimits.fileBytesMax}`);
  return parseScenarioText(readFileSync(path, 'utf8'), path);
}

/** The scenarios shipped with the repo (sim/fleet/scenarios/). */
export const scenariosDir = new URL('./scenarios/', import.meta.url).pathname;

/** A path, or the name of a shipped scenario ("rush-hour"). */
export function resolveScenario(nameOrPath: string): string {
  return /^[a-z0-9][a-z0-9-]*$/.test(nameOrPath) ? `${scenariosDir}${nameOrPath}.yaml` : nameOrPath;
}
