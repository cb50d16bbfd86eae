/**
 * What sits in a (virtual) NFC field: an ISO/IEC 14443-A target as a reader
 * sees it. The simulated phone (sim/phone) and plain simulated tags implement
 * this; the virtual PN532 (sim/pn532) activates and talks to whatever is in
 * its field through it.
 */
export interface Iso14443aTarget {
  /** SENS_RES (ATQA), 2 bytes, as answered to REQA. */
  readonly atqa: Uint8Array;
  /** SEL_RES (SAK). Bit 0x20 set = the target speaks ISO 14443-4 (ISO-DEP). */
  readonly sak: number;
  /** ATS (answer to RATS) for ISO-DEP targets, without its length byte. */
  readonly ats?: Uint8Array;
  /** The UID for this activation. Phones in host card emulation randomise it per tap: never an identity. */
  activate(): Uint8Array;
  /**
   * One ISO-DEP exchange: a command APDU in, a response APDU (data + SW1 SW2)
   * out. Rejects if the target has left the field. Non-ISO-DEP targets reject.
   */
  transceive(apdu: Uint8Array): Promise<Uint8Array>;
  /** The reader released the target, or the target left the field. */
  deactivate(): void;
}
