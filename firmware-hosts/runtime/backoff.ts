/**
 * Reconnect delays: exponential with full jitter (AWS architecture blog,
 * "Exponential Backoff And Jitter"): delay = random(0, min(max, base·2^n)).
 * Full jitter spreads a fleet that lost its gateway at the same instant, so
 * hundreds of devices do not reconnect in lockstep. The random source is
 * injectable, so a test replays a run from its seed.
 */
import { checkIntegerOption } from './errors.ts';

export const backoffDefaults = {
  /** First ceiling: a broker restart is usually back within a few hundred ms. */
  minMs: 250,
  /** Highest ceiling: a device offline for long still tries twice a minute. */
  maxMs: 30_000,
} as const;
export type BackoffLimits = { -readonly [K in keyof typeof backoffDefaults]: number };

/** Returns a float in [0, 1). */
export type RandomSource = () => number;

/** mulberry32: a tiny seeded generator, good enough for jitter and replayable in tests. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Backoff {
  readonly limits: Readonly<BackoffLimits>;
  private attempt = 0;
  private readonly random: RandomSource;

  constructor(limits: Partial<BackoffLimits> = {}, random: RandomSource = Math.random) {
    const l = { ...backoffDefaults, ...limits };
    const minMs = checkIntegerOption('backoff.minMs', l.minMs, 1, 3_600_000);
    this.limits = { minMs, maxMs: checkIntegerOption('backoff.maxMs', l.maxMs, minMs, 3_600_000) };
    this.random = random;
  }

  /** The ceiling for the current attempt: minMs·2^attempt, capped at maxMs. */
  ceilingMs(): number {
    // 2^31 already exceeds any allowed maxMs; stop the exponent there.
    return Math.min(this.limits.maxMs, this.limits.minMs * 2 ** Math.min(this.attempt, 31));
  }

  /** The delay before the next attempt, in whole ms in [0, ceiling]; advances the attempt count. */
  nextDelayMs(): number {
    const delay = Math.floor(this.random() * (this.ceilingMs() + 1));
    this.attempt += 1;
    return delay;
  }

  /** After a successful connect: the next failure starts small again. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
