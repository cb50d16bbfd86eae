/**
 * Coded refusals of the purchase terminal: bad keypad or scanner input (the
 * display says which) and a sale that cannot start. docs/devices/pos.md lists
 * each with what to do.
 */
export const posErrorCodes = [
  /** A code longer than `codeCharsMax`: a misread or a stuck key. */
  'TS_ERR_POS_CODE_TOO_LONG',
  /** Neither an article of the catalog, an amount, nor a control code. */
  'TS_ERR_POS_UNKNOWN_CODE',
  /** An amount code whose digits are not a positive whole number of minor units within `saleMinorMax`. */
  'TS_ERR_POS_BAD_AMOUNT',
  /** The basket already holds `basketLinesMax` lines. */
  'TS_ERR_POS_BASKET_FULL',
  /** The sale would cost more than `saleMinorMax`. */
  'TS_ERR_POS_TOTAL_TOO_HIGH',
  /** A catalog article priced in another currency than the terminal's. */
  'TS_ERR_POS_CURRENCY',
  /** Pay was keyed with nothing in the basket. */
  'TS_ERR_POS_EMPTY_BASKET',
  /** No retained config yet (no merchant, no catalog): the terminal cannot sell. */
  'TS_ERR_POS_NO_CONFIG',
] as const;
export type PosErrorCode = (typeof posErrorCodes)[number];

export class PosError extends Error {
  override readonly name = 'PosError';
  constructor(readonly code: PosErrorCode, message: string) {
    super(message);
  }
}
