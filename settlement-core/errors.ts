/**
 * Two kinds of error (TigerBeetle style). An operating error — bad input, an
 * unknown account, an overloaded queue — is expected: it is a CoreError with a
 * stable code, and for a settle request it becomes a `declined` result, never
 * an exception. A programmer error — a broken invariant — is an
 * InvariantError: the core crashes before a wrong balance is written.
 */
export const coreErrorCodes = [
  'TS_ERR_INVALID_ARGUMENT',
  'TS_ERR_UNKNOWN_ACCOUNT',
  'TS_ERR_ACCOUNT_EXISTS',
  'TS_ERR_UNKNOWN_REQUEST',
  'TS_ERR_NOT_CANCELLABLE',
  'TS_ERR_CURRENCY',
  'TS_ERR_NOT_INITIALISED',
  'TS_ERR_OVERLOADED',
  'TS_ERR_CLOSED',
  'TS_ERR_STORE',
  /** The store's database server could not be reached (refused, unknown host, no answer within its connect timeout). */
  'TS_ERR_STORE_UNREACHABLE',
] as const;
export type CoreErrorCode = (typeof coreErrorCodes)[number];

export class CoreError extends Error {
  readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string) {
    super(message);
    this.name = 'CoreError';
    this.code = code;
  }
}

export class InvariantError extends Error {
  readonly code = 'TS_ERR_INVARIANT';
  constructor(message: string) {
    super(`invariant broken: ${message}`);
    this.name = 'InvariantError';
  }
}

/** Kept in production: a broken invariant stops the core before it writes a wrong balance. */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}
