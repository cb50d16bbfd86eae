/**
 * Operating errors of the worker-thread store (worker-store.ts): the thread
 * serving the SQLite file is gone or stuck, a limit was reached, or a call
 * came after its unit of work ended. Errors the SQLite store throws in the
 * worker (CoreError, InvariantError, SqliteError …) are not these: they
 * arrive in the main thread as their own classes with their own codes
 * (wire.ts).
 */
export const workerStoreErrorCodes = [
  /** The worker thread exited or threw: every call it had not answered fails with this, and the store is failed (reopen it). */
  'TS_ERR_STORE_WORKER_DIED',
  /** A call was not answered within callTimeoutMs: the worker is terminated (its open transaction rolls back) and the store is failed. */
  'TS_ERR_STORE_WORKER_TIMEOUT',
  /** callsInFlightMax calls are waiting for the worker: this one was not sent; retry later. */
  'TS_ERR_STORE_WORKER_BUSY',
  /** A call or its answer is larger than messageBytesMax: refused, nothing of it was sent or written. */
  'TS_ERR_STORE_WORKER_MESSAGE_SIZE',
  /** A LedgerTx call after its unit of work committed or rolled back. */
  'TS_ERR_STORE_WORKER_TX_ENDED',
  /** An option of the worker store is out of its form or range. */
  'TS_ERR_STORE_WORKER_OPTION',
] as const;
export type WorkerStoreErrorCode = (typeof workerStoreErrorCodes)[number];

export class WorkerStoreError extends Error {
  readonly code: WorkerStoreErrorCode;
  constructor(code: WorkerStoreErrorCode, message: string) {
    super(message);
    this.name = 'WorkerStoreError';
    this.code = code;
  }
}
