export type PhoneErrorCode =
  /** An option given to the simulated phone is missing or out of range; the message names it. */
  | 'TS_ERR_PHONE_OPTION'
  /** The phone has left the field: nothing more reaches it until it is placed back and activated again. */
  | 'TS_ERR_PHONE_NOT_IN_FIELD'
  /** An APDU arrived before the reader activated the phone (or after it released it). */
  | 'TS_ERR_PHONE_NOT_ACTIVATED'
  /** More APDUs were sent before the earlier ones were answered than ISO-DEP ever has in flight. */
  | 'TS_ERR_PHONE_BUSY'
  /** The counter file is unreadable, malformed, too large or belongs to another wallet. */
  | 'TS_ERR_PHONE_COUNTER_FILE';

/** What the simulated phone throws or rejects with; an APDU-level refusal is a status word instead. */
export class PhoneError extends Error {
  override readonly name = 'PhoneError';
  readonly code: PhoneErrorCode;
  constructor(code: PhoneErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
