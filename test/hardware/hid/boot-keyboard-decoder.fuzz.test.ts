import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BootKeyboardDecoder } from '../../../hardware/hid/boot-keyboard-decoder.ts';
import { encodeText } from '../../../sim/hid/boot-keyboard-encoder.ts';

const codeLengthMax = 32;
/** 300 runs of up to 40 reports: about 6,000 random reports per property. */
const runs = 300;
const reportsPerRunMax = 40;

/** Mostly well-formed 8-byte reports with random keys and modifiers, some of any length up to 16. */
const anyReport = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 8, maxLength: 8 }) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0x65 })).map(([modifiers, key]) => Uint8Array.of(modifiers, 0, key, 0, 0, 0, 0, 0)) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(8)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 16 }) },
);
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: codeLengthMax });

describe('BootKeyboardDecoder under random reports', () => {
  it('never throws, stays bounded, and only ever emits printable codes within the limit', () => {
    fc.assert(fc.property(fc.array(anyReport, { maxLength: reportsPerRunMax }), fc.boolean(), (reports, withId) => {
      const decoder = new BootKeyboardDecoder({ codeLengthMax, reportIdPrefix: withId });
      let now = 0;
      for (const report of reports) {
        now += 7;
        for (const outcome of decoder.push(report, now)) {
          if (outcome.kind === 'code') {
            expect(outcome.code.length).toBeGreaterThan(0);
            expect(outcome.code.length).toBeLessThanOrEqual(codeLengthMax);
            expect(outcome.code).toMatch(/^[\x20-\x7e]+$/);
          } else {
            expect(['TS_ERR_HID_CODE_TOO_LONG', 'TS_ERR_HID_GARBAGE', 'TS_ERR_HID_STALE']).toContain(outcome.rejection.code);
          }
        }
        expect(decoder.partialLength).toBeLessThanOrEqual(codeLengthMax);
      }
      const { reports: seen, truncatedReports, malformedReports } = decoder.stats;
      expect(seen).toBe(reports.length);
      expect(truncatedReports + malformedReports).toBeLessThanOrEqual(seen);
    }), { numRuns: runs });
  });

  it('decodes whatever the simulator encodes, in main-block and keypad form', () => {
    fc.assert(fc.property(printable, fc.array(anyReport, { maxLength: 5 }), (text, noise) => {
      const decoder = new BootKeyboardDecoder({ codeLengthMax });
      // Noise, then reset() as start() does it: a clean Enter-terminated scan always reads back.
      for (const report of noise) decoder.push(report, 0);
      decoder.reset();
      const codes = encodeText(text).flatMap((report) => decoder.push(report, 0));
      expect(codes).toEqual([{ kind: 'code', code: text }]);
      const digits = text.replace(/[^0-9]/g, '');
      if (digits.length > 0) {
        const keypad = encodeText(digits, { keypad: true }).flatMap((report) => decoder.push(report, 0));
        expect(keypad).toEqual([{ kind: 'code', code: digits }]);
      }
    }), { numRuns: runs });
  });
});
