import { afterEach, describe, expect, it } from 'vitest';
import type { CodeReader, CodeRejection } from '../../../hardware/code-reader.ts';
import { record } from './wait.ts';

export interface CodeReaderHarness {
  reader: CodeReader;
  /** Types `text` then Enter on the device, as boot keyboard reports, through the implementation's real input path. */
  scan: (text: string) => void;
  /** One raw report from the device. */
  sendReport: (report: Uint8Array) => void;
  cleanup: () => Promise<void>;
}

export type MakeCodeReader = (options: { name: string; codeLengthMax: number }) => Promise<CodeReaderHarness>;

const codeLengthMax = 64;
/** Every character a US-layout scanner can type. */
const allPrintable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

/** The rules every CodeReader keeps (hardware/code-reader.ts), run against one implementation. */
export function codeReaderContract(label: string, makeReader: MakeCodeReader): void {
  describe(`CodeReader contract: ${label}`, () => {
    let harness: CodeReaderHarness | null = null;
    const make = async (): Promise<CodeReaderHarness> => {
      harness = await makeReader({ name: 'scanner-1', codeLengthMax });
      return harness;
    };
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    it('start() and stop() are idempotent and tracked by running', async () => {
      const { reader } = await make();
      expect(reader.name).toBe('scanner-1');
      expect(reader.running).toBe(false);
      await reader.start();
      await reader.start();
      expect(reader.running).toBe(true);
      await reader.stop();
      await reader.stop();
      expect(reader.running).toBe(false);
    });

    it('emits each scanned code exactly, in order, upper and lower case, digits and symbols', async () => {
      const { reader, scan } = await make();
      const codes = record<string>(reader, 'code');
      await reader.start();
      scan('TKT-2026/0042?seat=7B');
      scan(allPrintable.slice(0, codeLengthMax));
      scan(allPrintable.slice(codeLengthMax));
      scan('1100');
      expect(codes).toEqual(['TKT-2026/0042?seat=7B', allPrintable.slice(0, codeLengthMax), allPrintable.slice(codeLengthMax), '1100']);
      expect(reader.stats.codes).toBe(4);
    });

    it('drops an over-long code with TS_ERR_HID_CODE_TOO_LONG, counted, and reads the next one', async () => {
      const { reader, scan } = await make();
      const codes = record<string>(reader, 'code');
      const rejections = record<CodeRejection>(reader, 'rejected');
      await reader.start();
      scan('9'.repeat(codeLengthMax + 1));
      scan('OK');
      expect(codes).toEqual(['OK']);
      expect(rejections.map((rejection) => rejection.code)).toEqual(['TS_ERR_HID_CODE_TOO_LONG']);
      expect(reader.stats.droppedTooLong).toBe(1);
    });

    it('ignores and counts truncated reports', async () => {
      const { reader, scan, sendReport } = await make();
      const codes = record<string>(reader, 'code');
      await reader.start();
      sendReport(new Uint8Array([0, 0, 0x04]));
      sendReport(new Uint8Array(0));
      scan('A1');
      expect(codes).toEqual(['A1']);
      expect(reader.stats.truncatedReports).toBe(2);
    });

    it('emits nothing while stopped, and a stop discards a partial code', async () => {
      const { reader, scan, sendReport } = await make();
      const codes = record<string>(reader, 'code');
      await reader.start();
      sendReport(new Uint8Array([0, 0, 0x1e, 0, 0, 0, 0, 0]));
      sendReport(new Uint8Array(8));
      await reader.stop();
      scan('LOST');
      await reader.start();
      scan('X');
      expect(codes).toEqual(['X']);
    });
  });
}
