/**
 * Operating errors of the sharded store: a directory that does not add up,
 * an account the directory cannot place, a hot-account request that makes
 * no sense. Each has a stable code; a broken invariant is still an
 * InvariantError (settlement-core/errors.ts) and stops the core.
 */
export const shardedStoreErrorCodes = [
  /** The directory (servers, branch ranges, overrides, hot accounts) is malformed or inconsistent. */
  'TS_ERR_DIRECTORY_INVALID',
  /** A server index or name that the directory does not have. */
  'TS_ERR_DIRECTORY_UNKNOWN_SERVER',
  /** The change would move an account that already has data to another server. */
  'TS_ERR_DIRECTORY_ACCOUNT_PLACED',
  /** The options of the sharded store are out of their form or range. */
  'TS_ERR_SHARDED_OPTION',
  /** Only a merchant account can be hot, and only one that exists. */
  'TS_ERR_HOT_ACCOUNT',
  /** A write the sharded store cannot split into per-server parts (a transfer between servers with neither a journal entry nor a reference to pair its legs by). */
  'TS_ERR_CROSS_SERVER_WRITE',
  /** An account move that cannot be made: not a user account, a hot account, an account that does not exist, or a balance with no clearing account to move it by. */
  'TS_ERR_ACCOUNT_MOVE',
] as const;
export type ShardedStoreErrorCode = (typeof shardedStoreErrorCodes)[number];

export class ShardedStoreError extends Error {
  readonly code: ShardedStoreErrorCode;
  constructor(code: ShardedStoreErrorCode, message: string) {
    super(message);
    this.name = 'ShardedStoreError';
    this.code = code;
  }
}
