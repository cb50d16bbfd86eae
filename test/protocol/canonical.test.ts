import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, domains } from '../../protocol/index.ts';
import { anyString } from './fixtures.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('canonicalBytes', () => {
  it('lays out a small example exactly (hand-computed)', () => {
    const bytes = canonicalBytes('d', ['ab', 1, null, new Uint8Array([0xff]), -1, undefined]);
    expect(hex(bytes)).toBe([
      '01' + '00000001' + '64', // domain "d": string tag, u32be length 1, "d"
      '01' + '00000002' + '6162', // "ab"
      '02' + '0000000000000001', // integer 1 as i64be
      '00', // null: absent
      '03' + '00000001' + 'ff', // one raw byte
      '02' + 'ffffffffffffffff', // integer -1, two's complement
      '00', // undefined: absent
    ].join(''));
    expect(bytes.byteLength).toBe(6 + 7 + 9 + 1 + 6 + 9 + 1);
  });

  it('encodes integers at the edges of the safe range', () => {
    expect(hex(canonicalBytes('', [Number.MAX_SAFE_INTEGER]))).toBe('0100000000' + '02001fffffffffffff');
    expect(hex(canonicalBytes('', [Number.MIN_SAFE_INTEGER]))).toBe('0100000000' + '02ffe0000000000001');
    expect(hex(canonicalBytes('', [0]))).toBe(hex(canonicalBytes('', [-0])));
  });

  it('throws on numbers that are not safe integers', () => {
    for (const n of [1.5, Number.MAX_SAFE_INTEGER + 1, Number.MIN_SAFE_INTEGER - 1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 63]) {
      expect(() => canonicalBytes('d', [n]), String(n)).toThrow(RangeError);
    }
  });

  it('tells an absent field from an empty string and from empty bytes', () => {
    const absent = canonicalBytes('d', [undefined]);
    const empty = canonicalBytes('d', ['']);
    const emptyBytes = canonicalBytes('d', [new Uint8Array(0)]);
    expect(hex(absent).slice(12)).toBe('00');
    expect(hex(empty).slice(12)).toBe('0100000000');
    expect(hex(emptyBytes).slice(12)).toBe('0300000000');
    expect(absent.equals(empty)).toBe(false);
    expect(empty.equals(emptyBytes)).toBe(false);
    expect(canonicalBytes('d', [null]).equals(absent)).toBe(true);
  });

  it('tells a string of digits from the integer, and the integer from raw bytes', () => {
    expect(canonicalBytes('d', ['1']).equals(canonicalBytes('d', [1]))).toBe(false);
    expect(canonicalBytes('d', [1]).equals(canonicalBytes('d', [new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1])]))).toBe(false);
  });

  it('depends on field order', () => {
    expect(canonicalBytes('d', ['a', 'b']).equals(canonicalBytes('d', ['b', 'a']))).toBe(false);
    expect(canonicalBytes('d', [1, 'x']).equals(canonicalBytes('d', ['x', 1]))).toBe(false);
    expect(canonicalBytes('d', [null, 'x']).equals(canonicalBytes('d', ['x', null]))).toBe(false);
  });

  it('length-prefixes, so moving a boundary between fields changes the bytes', () => {
    expect(canonicalBytes('d', ['ab', 'c']).equals(canonicalBytes('d', ['a', 'bc']))).toBe(false);
    expect(canonicalBytes('da', ['b']).equals(canonicalBytes('d', ['ab']))).toBe(false);
  });

  it('separates domains', () => {
    const values = new Set(Object.values(domains));
    expect(values.size).toBe(Object.keys(domains).length);
    const fields = ['x', 1];
    const encodings = [...values].map((domain) => hex(canonicalBytes(domain, fields)));
    expect(new Set(encodings).size).toBe(values.size);
    for (const domain of values) expect(domain.startsWith('tapsettle/v1/')).toBe(true);
  });

  it('writes UTF-8 byte lengths, not UTF-16 code unit counts', () => {
    const cases: [string, string][] = [
      ['é', 'c3a9'], // 2 bytes, 1 code unit
      ['€', 'e282ac'], // 3 bytes, 1 code unit
      ['😀', 'f09f9880'], // 4 bytes, 2 code units
      ['a€😀', '61e282acf09f9880'],
    ];
    for (const [text, utf8] of cases) {
      const length = utf8.length / 2;
      expect(hex(canonicalBytes('', [text])).slice(10)).toBe(`01${length.toString(16).padStart(8, '0')}${utf8}`);
    }
  });

  it('has the size the fields predict, for any fields', () => {
    const field = fc.oneof(
      anyString(40),
      fc.maxSafeInteger(),
      fc.uint8Array({ maxLength: 40 }),
      fc.constant(null),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.array(field, { maxLength: 12 }), (domain, fields) => {
        const size = (f: unknown): number => {
          if (f === null || f === undefined) return 1;
          if (typeof f === 'string') return 5 + Buffer.byteLength(f, 'utf8');
          if (typeof f === 'number') return 9;
          return 5 + (f as Uint8Array).byteLength;
        };
        const bytes = canonicalBytes(domain, fields);
        expect(bytes.byteLength).toBe(size(domain) + fields.reduce((sum: number, f) => sum + size(f), 0));
        expect(canonicalBytes(domain, fields).equals(bytes)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
