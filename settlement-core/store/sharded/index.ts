export { ShardedLedgerStore, defaultShardedStoreLimits } from './sharded-store.ts';
export type { ShardedStoreFaults, ShardedStoreLimits, ShardedStoreOptions } from './sharded-store.ts';
export { Directory, DirectoryConfig, validateDirectory } from './directory.ts';
export { ShardedStoreError, shardedStoreErrorCodes } from './errors.ts';
export type { ShardedStoreErrorCode } from './errors.ts';
export { openShardedStore, evenDirectory } from './open.ts';
export type { OpenShardedStoreOptions, ShardServerConfig } from './open.ts';
export { auditSharded } from './audit.ts';
export type { ShardedAuditReport } from './audit.ts';
