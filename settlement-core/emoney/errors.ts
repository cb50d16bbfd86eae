/**
 * Operating errors of e-money (claims 34–35) that are not a decision: a
 * decision (issued, declined, deposited, refused) is an answer with a reason
 * code (reasons.ts), kept and replayed like any other.
 */
export const emoneyErrorCodes = [
  /**
   * This ledger store does not keep e-money. Every store here keeps it (SQLite, PostgreSQL and, since issue 7,
   * the sharded store); a LedgerStore without e-money refuses every e-money read and write with it.
   */
  'TS_ERR_EMONEY_UNSUPPORTED',
] as const;
export type EmoneyErrorCode = (typeof emoneyErrorCodes)[number];

export class EmoneyError extends Error {
  readonly code: EmoneyErrorCode;
  constructor(code: EmoneyErrorCode, message: string) {
    super(message);
    this.name = 'EmoneyError';
    this.code = code;
  }
}

export const emoneyUnsupported = (): EmoneyError =>
  new EmoneyError('TS_ERR_EMONEY_UNSUPPORTED', 'this ledger store does not keep e-money; run e-money on a store that does (SQLite, PostgreSQL, sharded)');
