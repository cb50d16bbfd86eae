export { WorkerLedgerStore, defaultWorkerStoreLimits } from './worker-store.ts';
export type { WorkerStoreLimits, WorkerStoreOptions, WorkerStoreStats } from './worker-store.ts';
export { WorkerStoreError, workerStoreErrorCodes } from './errors.ts';
export type { WorkerStoreErrorCode } from './errors.ts';
export type { WorkerFaults } from './wire.ts';
