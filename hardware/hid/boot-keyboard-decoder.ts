import type { CodeReaderStats, CodeRejection } from '../code-reader.ts';
import { CodeRejectedError, checkHidIntegerOption } from './errors.ts';
import {
  modifierOtherMask, modifierShiftMask, usageBackspace, usageEnter, usageErrorMax, usageEscape,
  usageKeypadEnter, usageModifierMax, usageModifierMin, usageToChar,
} from './usage-table.ts';

/**
 * Decodes USB HID boot-protocol keyboard reports — 8 bytes: modifiers,
 * reserved, six key usage ids — into codes, as a barcode/QR scanner or a
 * keypad in "USB keyboard" mode types them. A key counts when it appears in a
 * report and was not in the previous one (a scanner sends press, release,
 * press…), so a repeated character still reads twice. Enter ends a code.
 *
 * Pure and bounded: no timers (the caller passes the time), at most
 * codeLengthMax characters held, every bad input counted in `stats`. It never
 * throws on input; fuzzed in test/hardware/hid.
 */
export const bootReportBytes = 8;
/**
 * Longest code kept. Our payloads (article ids, ticket references, amounts)
 * are far below it; a QR code can hold 4,296 characters, but no code we
 * accept needs more than 1 KiB.
 */
export const codeLengthMaxDefault = 1_024;
export const codeLengthCeiling = 4_296;
/**
 * Longest pause between two keys of one code. A scanner types a whole code in
 * well under a second; a person keying an amount pauses a few seconds at most.
 * Past it the partial code is stale (a scan cut off by an unplug) and dropped.
 */
export const keyGapMsMaxDefault = 10_000;
const keyGapMsCeiling = 600_000;

export interface BootKeyboardDecoderOptions {
  codeLengthMax?: number;
  keyGapMsMax?: number;
  /** The device prefixes each report with a report id byte (9 bytes in all). */
  reportIdPrefix?: boolean;
}

export type DecodeOutcome = { kind: 'code'; code: string } | { kind: 'rejected'; rejection: CodeRejection };

export function emptyStats(): CodeReaderStats {
  return { reports: 0, truncatedReports: 0, malformedReports: 0, codes: 0, droppedTooLong: 0, droppedGarbage: 0, droppedStale: 0 };
}

export class BootKeyboardDecoder {
  readonly codeLengthMax: number;
  readonly keyGapMsMax: number;
  readonly reportBytes: number;
  readonly stats: CodeReaderStats = emptyStats();
  #partial: string[] = [];
  #overflow = false;
  #garbage = false;
  #lastKeyMs = 0;
  #held = new Set<number>();

  constructor(options: BootKeyboardDecoderOptions = {}) {
    this.codeLengthMax = checkHidIntegerOption('codeLengthMax', options.codeLengthMax ?? codeLengthMaxDefault, 1, codeLengthCeiling);
    this.keyGapMsMax = checkHidIntegerOption('keyGapMsMax', options.keyGapMsMax ?? keyGapMsMaxDefault, 1, keyGapMsCeiling);
    this.reportBytes = bootReportBytes + (options.reportIdPrefix === true ? 1 : 0);
  }

  /** Characters of the code being typed (never more than codeLengthMax). */
  get partialLength(): number {
    return this.#partial.length;
  }

  /** One report from the device, at nowMs (any monotonic clock). Returns what it completed, usually nothing. */
  push(report: Uint8Array, nowMs: number): DecodeOutcome[] {
    this.stats.reports += 1;
    if (report.length < this.reportBytes) {
      this.stats.truncatedReports += 1;
      return [];
    }
    if (report.length > this.reportBytes) {
      this.stats.malformedReports += 1;
      return [];
    }
    const body = report.subarray(this.reportBytes - bootReportBytes);
    const modifiers = body[0] ?? 0;
    const keys = Array.from(body.subarray(2)).filter((usage) => usage !== 0);
    if (keys.some((usage) => usage <= usageErrorMax)) {
      // Rollover/error report: the spec says keep the previous key state.
      this.stats.malformedReports += 1;
      return [];
    }
    const fresh = keys.filter((usage) => !this.#held.has(usage));
    this.#held = new Set(keys);
    const outcomes: DecodeOutcome[] = [];
    for (const usage of fresh) this.#key(usage, modifiers, nowMs, outcomes);
    return outcomes;
  }

  /** Forgets a partial code and the held keys (the reader stopped or restarted). */
  reset(): void {
    this.#clearPartial();
    this.#held.clear();
  }

  #key(usage: number, modifiers: number, nowMs: number, outcomes: DecodeOutcome[]): void {
    if (usage >= usageModifierMin && usage <= usageModifierMax) return;
    if (this.#hasPartial() && nowMs - this.#lastKeyMs > this.keyGapMsMax) {
      this.stats.droppedStale += 1;
      outcomes.push(rejected('TS_ERR_HID_STALE', `partial code dropped: no key for more than ${this.keyGapMsMax} ms`));
      this.#clearPartial();
    }
    this.#lastKeyMs = nowMs;
    if (usage === usageEnter || usage === usageKeypadEnter) {
      this.#finish(outcomes);
      return;
    }
    if (usage === usageEscape) {
      this.#clearPartial();
      return;
    }
    if (usage === usageBackspace) {
      if (!this.#overflow) this.#partial.pop();
      return;
    }
    const char = (modifiers & modifierOtherMask) === 0 ? usageToChar(usage, (modifiers & modifierShiftMask) !== 0) : undefined;
    if (char === undefined) this.#garbage = true;
    else if (this.#partial.length >= this.codeLengthMax) this.#overflow = true;
    else this.#partial.push(char);
  }

  #finish(outcomes: DecodeOutcome[]): void {
    if (this.#overflow) {
      this.stats.droppedTooLong += 1;
      outcomes.push(rejected('TS_ERR_HID_CODE_TOO_LONG', `code longer than ${this.codeLengthMax} characters dropped`));
    } else if (this.#garbage) {
      this.stats.droppedGarbage += 1;
      outcomes.push(rejected('TS_ERR_HID_GARBAGE', 'code with keys no scanner types (Ctrl/Alt/GUI, function or arrow keys) dropped'));
    } else if (this.#partial.length > 0) {
      this.stats.codes += 1;
      outcomes.push({ kind: 'code', code: this.#partial.join('') });
    }
    this.#clearPartial();
  }

  #hasPartial(): boolean {
    return this.#partial.length > 0 || this.#overflow || this.#garbage;
  }

  #clearPartial(): void {
    this.#partial = [];
    this.#overflow = false;
    this.#garbage = false;
  }
}

function rejected(code: CodeRejection['code'], message: string): DecodeOutcome {
  return { kind: 'rejected', rejection: new CodeRejectedError(code, message) };
}
