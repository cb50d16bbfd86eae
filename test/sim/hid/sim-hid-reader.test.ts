import { describe, expect, it } from 'vitest';
import type { CodeRejection } from '../../../hardware/code-reader.ts';
import { encodeText } from '../../../sim/hid/boot-keyboard-encoder.ts';
import { SimHidReader } from '../../../sim/hid/sim-hid-reader.ts';
import { codeReaderContract } from '../../hardware/contracts/code-reader-contract.ts';
import { record } from '../../hardware/contracts/wait.ts';

codeReaderContract('SimHidReader (encoder → same decoder)', (options) => {
  const reader = new SimHidReader(options);
  return Promise.resolve({
    reader,
    scan: (text) => void reader.scan(text),
    sendReport: (report) => void reader.sendReport(report),
    cleanup: () => reader.stop(),
  });
});

describe('SimHidReader', () => {
  it('types keypad digits and keypad Enter like a PIN pad', async () => {
    const reader = new SimHidReader({ name: 'keypad' });
    const codes = record<string>(reader, 'code');
    await reader.start();
    expect(reader.scan('1250.00', { keypad: true })).toBe(true);
    expect(codes).toEqual(['1250.00']);
    expect(encodeText('7', { keypad: true })[0]?.[2]).toBe(0x5f);
    await reader.stop();
  });

  it('refuses text no US keyboard can type, and sends nothing while stopped', () => {
    const reader = new SimHidReader({ name: 'scanner' });
    expect(() => reader.scan('café')).toThrow(expect.objectContaining({ code: 'TS_ERR_HID_BAD_OPTION' }));
    expect(reader.scan('ABC')).toBe(false);
    expect(reader.stats.reports).toBe(0);
  });

  it('drops a stale partial code after keyGapMsMax with TS_ERR_HID_STALE', async () => {
    let now = 0;
    const reader = new SimHidReader({ name: 'keypad', keyGapMsMax: 5_000, nowMs: () => now });
    const codes = record<string>(reader, 'code');
    const rejections = record<CodeRejection>(reader, 'rejected');
    await reader.start();
    reader.scan('12', { enter: false });
    now += 5_001;
    reader.scan('34');
    expect(codes).toEqual(['34']);
    expect(rejections.map((rejection) => rejection.code)).toEqual(['TS_ERR_HID_STALE']);
    await reader.stop();
  });

  it('unplug() stops the reader with a TS_ERR_HID_READ fault, and it can start again', async () => {
    const reader = new SimHidReader({ name: 'scanner' });
    const faults = record<Error & { code?: string }>(reader, 'fault');
    await reader.start();
    reader.unplug();
    expect(reader.running).toBe(false);
    expect(faults.map((fault) => fault.code)).toEqual(['TS_ERR_HID_READ']);
    await reader.start();
    const codes = record<string>(reader, 'code');
    reader.scan('BACK');
    expect(codes).toEqual(['BACK']);
    await reader.stop();
  });
});
