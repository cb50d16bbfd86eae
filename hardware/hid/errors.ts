import type { CodeRejection } from '../code-reader.ts';

/**
 * Errors of the HID code-reader layer: classes with stable codes, listed with
 * what to do about each in docs/hardware.md. The three "dropped code" codes are
 * also CodeRejection codes (hardware/code-reader.ts): they are reported, never thrown.
 */
export const hidErrorCodes = [
  /** A code longer than codeLengthMax: dropped. */
  'TS_ERR_HID_CODE_TOO_LONG',
  /** A code with keys that no scanner types (Ctrl/Alt combinations, function keys): dropped. */
  'TS_ERR_HID_GARBAGE',
  /** A partial code left without Enter for longer than keyGapMsMax: dropped. */
  'TS_ERR_HID_STALE',
  /** An option is missing or out of range; the message names it. */
  'TS_ERR_HID_BAD_OPTION',
  /** node-hid or its native library (libusb / hidraw support) cannot be loaded. */
  'TS_ERR_HID_DRIVER_MISSING',
  /** The reader could not be opened (not plugged in, wrong path or ids, no permission). */
  'TS_ERR_HID_OPEN',
  /** The reader failed while running (unplugged); it is stopped. */
  'TS_ERR_HID_READ',
] as const;
export type HidErrorCode = (typeof hidErrorCodes)[number];

export class HidError extends Error {
  readonly code: HidErrorCode;
  constructor(code: HidErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HidError';
    this.code = code;
  }
}

export function checkHidIntegerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HidError('TS_ERR_HID_BAD_OPTION', `${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

/** A dropped code, as reported on a CodeReader's 'rejected' event. */
export class CodeRejectedError extends HidError implements CodeRejection {
  override readonly code: CodeRejection['code'];
  constructor(code: CodeRejection['code'], message: string) {
    super(code, message);
    this.code = code;
  }
}
