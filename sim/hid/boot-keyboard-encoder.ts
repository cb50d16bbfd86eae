import { bootReportBytes } from '../../hardware/hid/boot-keyboard-decoder.ts';
import { HidError } from '../../hardware/hid/errors.ts';
import { charToKeyStroke, usageEnter, usageKeypadEnter } from '../../hardware/hid/usage-table.ts';

/**
 * Turns text into the boot keyboard reports a scanner (or keypad) in USB
 * keyboard mode sends for it: for each character a press report (Shift in
 * the modifier byte when needed) and a release report, then Enter. The
 * inverse of hardware/hid/boot-keyboard-decoder.ts, for the simulator and
 * for tests.
 */
export interface EncodeOptions {
  /** Type digits, '.', '+', '-', '*', '/' and Enter on the numeric keypad, as a PIN pad does. */
  keypad?: boolean;
  /** End with Enter (default true). */
  enter?: boolean;
}

const shiftModifier = 0x02;
/** Longest text encoded at once: far above any code, far below memory trouble. */
export const encodeTextLengthMax = 8_192;

export function encodeText(text: string, options: EncodeOptions = {}): Uint8Array[] {
  if (text.length > encodeTextLengthMax) throw new HidError('TS_ERR_HID_BAD_OPTION', `text longer than ${encodeTextLengthMax} characters`);
  const reports: Uint8Array[] = [];
  for (const char of text) {
    const stroke = charToKeyStroke(char, options.keypad === true);
    if (stroke === undefined) throw new HidError('TS_ERR_HID_BAD_OPTION', `no US keyboard key types ${JSON.stringify(char)}`);
    reports.push(keyReport(stroke.usage, stroke.shift ? shiftModifier : 0), releaseReport());
  }
  if (options.enter !== false) reports.push(keyReport(options.keypad === true ? usageKeypadEnter : usageEnter, 0), releaseReport());
  return reports;
}

export function keyReport(usage: number, modifiers: number): Uint8Array {
  const report = new Uint8Array(bootReportBytes);
  report[0] = modifiers;
  report[2] = usage;
  return report;
}

export function releaseReport(): Uint8Array {
  return new Uint8Array(bootReportBytes);
}
