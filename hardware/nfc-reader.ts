/**
 * The NFC reader a device host sees (DESIGN §8): wait for a phone or card,
 * exchange ISO 7816-4 APDUs with it, let it go. Real drivers (the PN532 over a
 * UART, hardware/nfc/) and simulators implement this same interface, so the
 * host program in a simulated station is the code that runs on a Pi.
 */

/** What the reader learnt when it activated a target. */
export interface NfcTargetInfo {
  /** UID as presented for this activation. Phones randomise it per tap: never use it as an identity. */
  readonly uid: Uint8Array;
  /** SENS_RES (ATQA), 2 bytes, as the reader chip reports it. */
  readonly atqa: Uint8Array;
  /** SEL_RES (SAK). */
  readonly sak: number;
  /** True when SAK bit 0x20 is set: the target speaks ISO 14443-4 and takes APDUs. */
  readonly isoDep: boolean;
  /** ATS without its length byte, for ISO-DEP targets. */
  readonly ats?: Uint8Array;
}

export interface NfcReader {
  /** Resolves with the first target in the field, or null when none came within timeoutMs. */
  waitForTarget(options: { timeoutMs: number }): Promise<NfcTargetInfo | null>;
  /** Sends one command APDU to the current ISO-DEP target and resolves with its response APDU (data + SW1 SW2). */
  exchange(apdu: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array>;
  /** Lets the current target go (it may be activated again by the next waitForTarget). */
  release(): Promise<void>;
  /** Releases the hardware; the reader cannot be used afterwards. */
  close(): Promise<void>;
}

/** SAK bit that says "ISO/IEC 14443-4 compliant" (ISO 14443-3 §6.4.3.4). */
export const sakIsoDepBit = 0x20;

export const nfcErrorCodes = {
  /** exchange() did not complete within its timeoutMs (the phone is slow or the reader stalled). */
  TS_ERR_NFC_TIMEOUT: 'no answer from the NFC target in time',
  /** The target left the field (or stopped answering) during the exchange. Ask the customer to tap again. */
  TS_ERR_NFC_TARGET_LOST: 'the NFC target left the field',
  /** exchange() called with no activated target. */
  TS_ERR_NFC_NO_TARGET: 'no NFC target is activated',
  /** The activated target does not speak ISO-DEP (a plain tag, not a phone or payment card). */
  TS_ERR_NFC_NOT_ISO_DEP: 'the NFC target does not take APDUs',
  /** A command APDU longer than the reader can carry in one exchange. */
  TS_ERR_NFC_APDU_TOO_LONG: 'the APDU is too long for this reader',
  /** The target's answer is not a response APDU (shorter than its status word). */
  TS_ERR_NFC_BAD_RESPONSE: 'the NFC target answered something that is not a response APDU',
  /** The RF exchange failed for another reason (CRC, parity, protocol error), with the reader's status. */
  TS_ERR_NFC_TRANSMISSION: 'the NFC exchange failed',
  TS_ERR_NFC_CLOSED: 'the NFC reader is closed',
} as const;

export type NfcErrorCode = keyof typeof nfcErrorCodes;

export class NfcError extends Error {
  override readonly name = 'NfcError';
  readonly code: NfcErrorCode;

  constructor(code: NfcErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail === undefined ? nfcErrorCodes[code] : `${nfcErrorCodes[code]}: ${detail}`, { cause: options?.cause });
    this.code = code;
  }
}

export const isNfcError = (error: unknown, code?: NfcErrorCode): error is NfcError =>
  error instanceof NfcError && (code === undefined || error.code === code);
