import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, seededRandom } from '../../../firmware-hosts/runtime/backoff.ts';

describe('Backoff', () => {
  it('doubles its ceiling from minMs up to maxMs and starts over after reset', () => {
    const b = new Backoff({ minMs: 100, maxMs: 1000 }, () => 0.999999);
    const delays = Array.from({ length: 6 }, () => b.nextDelayMs());
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.nextDelayMs()).toBe(100);
  });

  it('is full jitter: every delay lies in [0, ceiling] and the same seed replays the same delays', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 100_000 }), (seed, minMs, extra) => {
        const maxMs = minMs + extra;
        const a = new Backoff({ minMs, maxMs }, seededRandom(seed));
        const b = new Backoff({ minMs, maxMs }, seededRandom(seed));
        for (let i = 0; i < 40; i += 1) {
          const ceiling = a.ceilingMs();
          const d = a.nextDelayMs();
          expect(d).toBe(b.nextDelayMs());
          expect(Number.isInteger(d) && d >= 0 && d <= ceiling && ceiling <= maxMs).toBe(true);
        }
      }),
      { seed: 11, numRuns: 100 },
    );
  });

  it('spreads delays: a seeded run of 1000 first retries is not bunched at one value', () => {
    const rnd = seededRandom(42);
    const delays = Array.from({ length: 1000 }, () => new Backoff({ minMs: 1000, maxMs: 1000 }, rnd).nextDelayMs());
    const mean = delays.reduce((s, d) => s + d, 0) / delays.length;
    expect(mean).toBeGreaterThan(400);
    expect(mean).toBeLessThan(600);
    expect(new Set(delays).size).toBeGreaterThan(500);
  });

  it('names a bad limit', () => {
    expect(() => new Backoff({ minMs: 500, maxMs: 100 })).toThrow(/backoff\.maxMs/);
    expect(() => new Backoff({ minMs: 0 })).toThrow(/backoff\.minMs/);
  });
});
