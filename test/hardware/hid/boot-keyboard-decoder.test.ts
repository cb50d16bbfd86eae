import { describe, expect, it } from 'vitest';
import type { DecodeOutcome } from '../../../hardware/hid/boot-keyboard-decoder.ts';
import { BootKeyboardDecoder } from '../../../hardware/hid/boot-keyboard-decoder.ts';
import { encodeText, keyReport, releaseReport } from '../../../sim/hid/boot-keyboard-encoder.ts';

const shift = 0x02;
const leftCtrl = 0x01;

function feed(decoder: BootKeyboardDecoder, reports: Uint8Array[], nowMs = 0): DecodeOutcome[] {
  return reports.flatMap((report) => decoder.push(report, nowMs));
}

function codesOf(outcomes: DecodeOutcome[]): string[] {
  return outcomes.flatMap((outcome) => (outcome.kind === 'code' ? [outcome.code] : []));
}

function rejectionsOf(outcomes: DecodeOutcome[]): string[] {
  return outcomes.flatMap((outcome) => (outcome.kind === 'rejected' ? [outcome.rejection.code] : []));
}

describe('BootKeyboardDecoder', () => {
  it('reads letters, shifted letters and symbols, and a repeated character twice', () => {
    const decoder = new BootKeyboardDecoder();
    const reports = [
      keyReport(0x04, 0), releaseReport(), // a
      keyReport(0x04, shift), releaseReport(), // A
      keyReport(0x1f, shift), releaseReport(), // @
      keyReport(0x27, 0), releaseReport(), keyReport(0x27, 0), releaseReport(), // 00
      keyReport(0x28, 0), releaseReport(),
    ];
    expect(codesOf(feed(decoder, reports))).toEqual(['aA@00']);
    expect(decoder.stats).toMatchObject({ reports: reports.length, codes: 1 });
  });

  it('takes every new key of a report in order, and ignores keys still held', () => {
    const decoder = new BootKeyboardDecoder();
    const both = new Uint8Array([0, 0, 0x05, 0x06, 0, 0, 0, 0]); // b c
    const stillHeld = new Uint8Array([0, 0, 0x06, 0x07, 0, 0, 0, 0]); // c held, d new
    expect(codesOf(feed(decoder, [both, stillHeld, releaseReport(), keyReport(0x28, 0)]))).toEqual(['bcd']);
  });

  it('an empty Enter emits nothing; Backspace and Escape edit the partial code', () => {
    const decoder = new BootKeyboardDecoder();
    const outcomes = feed(decoder, [
      keyReport(0x28, 0), releaseReport(),
      ...encodeText('12', { enter: false }), keyReport(0x2a, 0), releaseReport(), ...encodeText('5'),
      ...encodeText('99', { enter: false }), keyReport(0x29, 0), releaseReport(), ...encodeText('7'),
    ]);
    expect(codesOf(outcomes)).toEqual(['15', '7']);
  });

  it('drops a code typed with Ctrl/Alt/GUI or with unmapped keys as garbage', () => {
    const decoder = new BootKeyboardDecoder();
    const ctrlC = [keyReport(0x06, leftCtrl), releaseReport(), ...encodeText('')];
    const functionKey = [keyReport(0x3a, 0), releaseReport(), ...encodeText('X')];
    const outcomes = feed(decoder, [...ctrlC, ...functionKey, ...encodeText('fine')]);
    expect(rejectionsOf(outcomes)).toEqual(['TS_ERR_HID_GARBAGE', 'TS_ERR_HID_GARBAGE']);
    expect(codesOf(outcomes)).toEqual(['fine']);
    expect(decoder.stats.droppedGarbage).toBe(2);
  });

  it('never holds more than codeLengthMax characters', () => {
    const decoder = new BootKeyboardDecoder({ codeLengthMax: 8 });
    const reports = encodeText('x'.repeat(100), { enter: false });
    for (const report of reports) {
      decoder.push(report, 0);
      expect(decoder.partialLength).toBeLessThanOrEqual(8);
    }
    expect(rejectionsOf(feed(decoder, encodeText('')))).toEqual(['TS_ERR_HID_CODE_TOO_LONG']);
    expect(codesOf(feed(decoder, encodeText('12345678')))).toEqual(['12345678']);
  });

  it('counts truncated, over-long and rollover-error reports and keeps the key state across a phantom', () => {
    const decoder = new BootKeyboardDecoder();
    const outcomes = feed(decoder, [
      keyReport(0x04, 0),
      new Uint8Array([0, 0, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01]), // ErrorRollOver: 'a' still held
      keyReport(0x04, 0),
      new Uint8Array(7),
      new Uint8Array(9),
      releaseReport(), keyReport(0x28, 0),
    ]);
    expect(codesOf(outcomes)).toEqual(['a']);
    expect(decoder.stats).toMatchObject({ truncatedReports: 1, malformedReports: 2 });
  });

  it('reads 9-byte reports with a report id prefix when told to, and ignores modifier usages in key slots', () => {
    const decoder = new BootKeyboardDecoder({ reportIdPrefix: true });
    const withId = (report: Uint8Array): Uint8Array => Uint8Array.of(1, ...report);
    const shiftInSlot = new Uint8Array([shift, 0, 0xe1, 0x05, 0, 0, 0, 0]);
    expect(codesOf(feed(decoder, [shiftInSlot, releaseReport(), ...encodeText('')].map(withId)))).toEqual(['B']);
    expect(feed(decoder, [releaseReport()])).toEqual([]);
    expect(decoder.stats.truncatedReports).toBe(1);
  });

  it('refuses absurd options with TS_ERR_HID_BAD_OPTION', () => {
    expect(() => new BootKeyboardDecoder({ codeLengthMax: 0 })).toThrow(expect.objectContaining({ code: 'TS_ERR_HID_BAD_OPTION' }));
    expect(() => new BootKeyboardDecoder({ codeLengthMax: 100_000 })).toThrow(expect.objectContaining({ code: 'TS_ERR_HID_BAD_OPTION' }));
    expect(() => new BootKeyboardDecoder({ keyGapMsMax: -1 })).toThrow(expect.objectContaining({ code: 'TS_ERR_HID_BAD_OPTION' }));
  });
});
