/** Keypad and scanner codes read into a basket: pure, bounded, coded refusals only (fuzzed). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Basket, readCode } from '../../../firmware-hosts/pos/basket.ts';
import { PosError, posErrorCodes } from '../../../firmware-hosts/pos/errors.ts';
import { PosSection } from '../../../firmware-hosts/pos/settings.ts';
import { limits } from '../../../protocol/index.ts';
import { catalog } from './pos-fixtures.ts';

const settings = PosSection.parse({ basketLinesMax: 3, saleMinorMax: 1_000 });

describe('readCode', () => {
  it('reads control codes, amounts and catalog articles', () => {
    expect(readCode('+', settings, catalog)).toEqual({ kind: 'confirm' });
    expect(readCode('-', settings, catalog)).toEqual({ kind: 'cancel' });
    expect(readCode('*250', settings, catalog)).toMatchObject({ kind: 'line', line: { article: 'amount', unitMinor: 250, quantity: 1 } });
    expect(readCode('COFFEE', settings, catalog)).toMatchObject({ kind: 'line', line: { article: 'COFFEE', unitMinor: 250 } });
  });

  it.each([
    ['x'.repeat(33), 'TS_ERR_POS_CODE_TOO_LONG'],
    ['coffee', 'TS_ERR_POS_UNKNOWN_CODE'],
    ['a b', 'TS_ERR_POS_UNKNOWN_CODE'],
    ['\u0000', 'TS_ERR_POS_UNKNOWN_CODE'],
    ['*', 'TS_ERR_POS_BAD_AMOUNT'],
    ['*0', 'TS_ERR_POS_BAD_AMOUNT'],
    ['*-5', 'TS_ERR_POS_BAD_AMOUNT'],
    ['*1e3', 'TS_ERR_POS_BAD_AMOUNT'],
    ['*1001', 'TS_ERR_POS_BAD_AMOUNT'],
  ])('%j is refused with %s', (code, expected) => {
    const got = readCode(code, settings, catalog);
    expect(got.kind).toBe('refused');
    if (got.kind === 'refused') expect(got.error.code).toBe(expected);
  });

  it('refuses an article priced in another currency', () => {
    const got = readCode('USD1', settings, [{ article: 'USD1', name: 'x', price: { minor: 1, currency: 'USD' } }]);
    expect(got.kind === 'refused' && got.error.code).toBe('TS_ERR_POS_CURRENCY');
  });

  it('never throws, and every refusal is a coded PosError (fuzzed)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (code) => {
      const got = readCode(code, settings, catalog);
      if (got.kind === 'refused') {
        expect(got.error).toBeInstanceOf(PosError);
        expect(posErrorCodes).toContain(got.error.code);
      }
      if (got.kind === 'line') expect(got.line.unitMinor).toBeGreaterThanOrEqual(1);
    }), { numRuns: 500 });
  });
});

describe('Basket', () => {
  it('adds up, merges repeated articles, and makes one purchase', () => {
    const b = new Basket(settings);
    expect(b.purchase('m')).toBeInstanceOf(PosError);
    expect(b.add({ article: 'COFFEE', name: 'Coffee', unitMinor: 250, quantity: 1 })).toBeNull();
    expect(b.add({ article: 'COFFEE', name: 'Coffee', unitMinor: 250, quantity: 1 })).toBeNull();
    expect(b.purchase('100-0000001')).toEqual({ merchant: '100-0000001', amount: { minor: 500, currency: 'EUR' }, article: 'COFFEE', quantity: 2 });
    expect(b.add({ article: 'amount', name: 'amount', unitMinor: 100, quantity: 1 })).toBeNull();
    expect(b.purchase('m')).toMatchObject({ amount: { minor: 600 }, article: 'basket', quantity: 1 });
  });

  it('refuses past the line limit and the sale limit, and stays as it was', () => {
    const b = new Basket(settings);
    for (let i = 0; i < 3; i += 1) expect(b.add({ article: 'amount', name: 'amount', unitMinor: 10, quantity: 1 })).toBeNull();
    expect(b.add({ article: 'amount', name: 'amount', unitMinor: 10, quantity: 1 })?.code).toBe('TS_ERR_POS_BASKET_FULL');
    expect(b.add({ article: 'COFFEE', name: 'Coffee', unitMinor: 990, quantity: 1 })?.code).toBe('TS_ERR_POS_TOTAL_TOO_HIGH');
    expect(b.totalMinor).toBe(30);
    b.clear();
    expect(b.isEmpty).toBe(true);
  });

  it('never exceeds its limits whatever is added (fuzzed)', () => {
    fc.assert(fc.property(fc.array(fc.record({ article: fc.constantFrom('A', 'B', 'amount'), unitMinor: fc.integer({ min: 1, max: 600 }), quantity: fc.integer({ min: 1, max: 3 }) }), { maxLength: 40 }), (lines) => {
      const b = new Basket(settings);
      for (const l of lines) b.add({ ...l, name: l.article });
      expect(b.lines.length).toBeLessThanOrEqual(settings.basketLinesMax);
      expect(b.totalMinor).toBeLessThanOrEqual(settings.saleMinorMax);
      for (const l of b.lines) expect(l.quantity).toBeLessThanOrEqual(limits.quantityMax);
    }), { numRuns: 300 });
  });
});
