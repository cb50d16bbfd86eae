/**
 * A code reader: a USB barcode/QR scanner or a keypad that types into the
 * host as a keyboard (HID boot protocol). Each code arrives as one string,
 * terminated on the device by Enter; the Enter is not part of the code.
 *
 * Bad input is never an exception: an over-long, garbled or stale code is
 * dropped, counted in `stats`, and reported on 'rejected' with a coded error.
 * 'fault' means the device itself went away (unplugged, read error); the
 * reader is stopped then and may be started again.
 *
 * Neither event is called 'error' on purpose: an EventEmitter 'error' with no
 * listener throws, and a bad scan must not take a device host down.
 */
export interface CodeReaderStats {
  /** Reports received from the device (or simulator). */
  reports: number;
  /** Reports shorter than a boot keyboard report: ignored. */
  truncatedReports: number;
  /** Reports of any other wrong length, or phantom (rollover error) reports: ignored. */
  malformedReports: number;
  codes: number;
  droppedTooLong: number;
  droppedGarbage: number;
  droppedStale: number;
}

export interface CodeRejection {
  readonly code: 'TS_ERR_HID_CODE_TOO_LONG' | 'TS_ERR_HID_GARBAGE' | 'TS_ERR_HID_STALE';
  readonly message: string;
}

export interface CodeReader {
  readonly name: string;
  readonly running: boolean;
  readonly stats: Readonly<CodeReaderStats>;
  /** Opens the device (loads the driver on first use). Idempotent while running. */
  start(): Promise<void>;
  /** Closes the device; a partial code is discarded. Idempotent. */
  stop(): Promise<void>;
  on(event: 'code', listener: (code: string) => void): this;
  on(event: 'rejected', listener: (rejection: CodeRejection) => void): this;
  on(event: 'fault', listener: (fault: Error) => void): this;
  off(event: 'code', listener: (code: string) => void): this;
  off(event: 'rejected', listener: (rejection: CodeRejection) => void): this;
  off(event: 'fault', listener: (fault: Error) => void): this;
}
