import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AccountId,
  DeviceId,
  Mac,
  Nonce,
  formatAccountId,
  limits,
  parseAccountId,
  uuidV7Pattern,
  uuidv7,
  uuidv7Time,
} from '../../protocol/index.ts';

describe('uuidv7', () => {
  it('is a lower-case RFC 9562 version 7, variant 10 UUID', () => {
    for (let i = 0; i < 200; i += 1) {
      const id = uuidv7();
      expect(id).toHaveLength(36);
      expect(id).toMatch(uuidV7Pattern);
      expect(id).toBe(id.toLowerCase());
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
      expect([id[8], id[13], id[18], id[23]]).toEqual(['-', '-', '-', '-']);
    }
  });

  it('embeds the clock: uuidv7Time returns the milliseconds it was made with', () => {
    for (const ms of [0, 1, 1_732_430_000_000, 2 ** 47, 2 ** 48 - 1]) expect(uuidv7Time(uuidv7(ms))).toBe(ms);
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => uuidv7Time(uuidv7(ms)) === ms), { numRuns: 500 });
  });

  it('uses Date.now() by default', () => {
    const before = Date.now();
    const time = uuidv7Time(uuidv7());
    const after = Date.now();
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
  });

  it('sorts by time: a later millisecond gives a larger id, as a string', () => {
    let clock = 1_732_430_000_000;
    let previous = uuidv7(clock);
    for (let i = 0; i < 1000; i += 1) {
      clock += 1 + (i % 7);
      const next = uuidv7(clock);
      expect(uuidv7Time(next)).toBeGreaterThan(uuidv7Time(previous));
      expect(next > previous).toBe(true);
      previous = next;
    }
  });

  it('does not repeat within one millisecond (74 random bits)', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i += 1) ids.add(uuidv7(1_732_430_000_000));
    expect(ids.size).toBe(10_000);
  });

  it('the pattern refuses upper case, other versions and variants', () => {
    const good = '01937a4e-8f00-7abc-8def-0123456789ab';
    expect(uuidV7Pattern.test(good)).toBe(true);
    expect(uuidV7Pattern.test(good.toUpperCase())).toBe(false);
    expect(uuidV7Pattern.test('01937a4e-8f00-4abc-8def-0123456789ab')).toBe(false);
    expect(uuidV7Pattern.test('01937a4e-8f00-7abc-cdef-0123456789ab')).toBe(false);
    expect(uuidV7Pattern.test('01937a4e8f007abc8def0123456789ab')).toBe(false);
    expect(uuidV7Pattern.test(`${good}\n`)).toBe(false);
  });
});

describe('account ids', () => {
  it('parses and formats BBB-NNNNNNN', () => {
    expect(parseAccountId('001-0000042')).toEqual({ branch: 1, number: 42 });
    expect(parseAccountId('999-9999999')).toEqual({ branch: 999, number: 9_999_999 });
    expect(parseAccountId('000-0000000')).toEqual({ branch: 0, number: 0 });
    expect(formatAccountId(1, 42)).toBe('001-0000042');
    expect(formatAccountId(999, 9_999_999)).toBe('999-9999999');
    expect(formatAccountId(0, 0)).toBe('000-0000000');
  });

  it('round-trips every branch and number in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 9_999_999 }), (branch, number) => {
        const id = formatAccountId(branch, number);
        expect(AccountId.safeParse(id).success).toBe(true);
        expect(parseAccountId(id)).toEqual({ branch, number });
      }),
      { numRuns: 500 },
    );
  });

  it('refuses to format out-of-range or non-integer parts', () => {
    for (const [branch, number] of [[-1, 0], [1000, 0], [1.5, 0], [Number.NaN, 0], [0, -1], [0, 10_000_000], [0, 0.5], [0, Number.POSITIVE_INFINITY]] as const) {
      expect(() => formatAccountId(branch, number)).toThrow(RangeError);
    }
  });

  it('parses nothing that is not exactly of the form', () => {
    for (const bad of ['', '1-42', '01-0000042', '001-000004', '001-00000420', '0001-0000042', '001 0000042', '0010000042', 'abc-defghij', '001-000004a', ' 001-0000042', '001-0000042\n', '００１-０００００４２', '-01-0000042']) {
      expect(parseAccountId(bad)).toBeNull();
      expect(AccountId.safeParse(bad).success).toBe(false);
    }
  });
});

describe('device ids', () => {
  it('accepts lower-case topic-safe ids up to the limit', () => {
    for (const good of ['a', '0', 'vm-0042', 'gate.3_b', 'kiosk-hbf-01', 'a'.repeat(limits.deviceIdLengthMax)]) {
      expect(DeviceId.safeParse(good).success, good).toBe(true);
    }
  });

  it('refuses MQTT separators and wildcards, upper case, leading punctuation, blanks and too long', () => {
    const bad = [
      '', 'a/b', '/a', 'a/', 'a+b', '+', 'a#', '#', 'VM-0042', 'vm-0042X', 'Vm', '-abc', '.abc', '_abc',
      ' a', 'a b', 'a\n', 'a\u0000', 'é', 'a:b', 'a'.repeat(limits.deviceIdLengthMax + 1),
    ];
    for (const id of bad) expect(DeviceId.safeParse(id).success, JSON.stringify(id)).toBe(false);
  });
});

describe('nonces and MACs', () => {
  it('are lower-case hex of exactly 16 and 32 bytes', () => {
    expect(Nonce.safeParse('00'.repeat(16)).success).toBe(true);
    expect(Nonce.safeParse('00'.repeat(15)).success).toBe(false);
    expect(Nonce.safeParse('00'.repeat(17)).success).toBe(false);
    expect(Nonce.safeParse('AB'.repeat(16)).success).toBe(false);
    expect(Mac.safeParse('ab'.repeat(32)).success).toBe(true);
    expect(Mac.safeParse('ab'.repeat(31)).success).toBe(false);
    expect(Mac.safeParse(`${'ab'.repeat(31)}zz`).success).toBe(false);
    expect(Mac.safeParse('AB'.repeat(32)).success).toBe(false);
  });
});
