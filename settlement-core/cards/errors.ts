/**
 * Operating errors of the card authentication apparatus (the issuer host).
 * Messages never carry card data: a PAN, CVV or PIN is named, never quoted.
 */
export const cardErrorCodes = [
  /** An argument (a card to add, an option) is out of its form or range; the message names it. */
  'TS_ERR_CARD_INVALID_ARGUMENT',
  /** A card with this number is already in the table. */
  'TS_ERR_CARD_EXISTS',
  /** No card with this token. */
  'TS_ERR_CARD_UNKNOWN',
  /** This authorization id was already used with different content. */
  'TS_ERR_CARD_DUPLICATE_MISMATCH',
  /** The issuer database was opened with another pepper than the one it was created with. */
  'TS_ERR_CARD_PEPPER',
  /** The issuer database failed (disk full, I/O); nothing of the request was written. */
  'TS_ERR_CARD_STORE',
  /** The issuer database is closed. */
  'TS_ERR_CARD_CLOSED',
] as const;
export type CardErrorCode = (typeof cardErrorCodes)[number];

export class CardError extends Error {
  override readonly name = 'CardError';
  readonly code: CardErrorCode;
  constructor(code: CardErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Belt and braces for every message that leaves the card code: a run of 8 or more digits is not repeated. */
export const scrubDigits = (message: string): string => message.replace(/\d{8,}/g, '[digits]');
