/**
 * What crosses the thread boundary between WorkerLedgerStore (main thread)
 * and worker-main.ts: one request per LedgerStore or LedgerTx call, one
 * reply per request, posted as objects (structured clone: Maps and Sets
 * arrive as Maps and Sets), each measured against messageBytesMax before it
 * is sent. Errors travel as plain records and are rebuilt as the classes the
 * engine branches on, with the same codes.
 */
import Database from 'better-sqlite3';
import { CoreError, InvariantError, coreErrorCodes } from '../../errors.ts';
import type { CoreErrorCode } from '../../errors.ts';
import type { LedgerStore, LedgerTx } from '../ledger-store.ts';
import { WorkerStoreError, workerStoreErrorCodes } from './errors.ts';
import type { WorkerStoreErrorCode } from './errors.ts';

/** The LedgerStore calls the worker answers (the rest — transaction, close, kind — are the protocol's own). */
export const storeMethods = [
  'migrate', 'getAccount', 'listAccounts', 'getDevice', 'listDevices', 'getWallet', 'statement', 'getJournalEntry',
  'walletTickets', 'emoneyInbox', 'emoneyOutstanding', 'listJournal', 'countJournalByState', 'dueEntries', 'nextDueAt',
  'scanTransfers', 'scanJournal',
] as const satisfies readonly (keyof LedgerStore)[];
export type StoreMethod = (typeof storeMethods)[number];

export const txMethods = [
  'getAccounts', 'getDevices', 'getWallets', 'getJournalEntries', 'countersUsed', 'transferByReference', 'findAccounts',
  'maxAccountNumber', 'apply', 'bumpEpoch', 'insertAccount', 'setAccountStatus', 'setAttributes', 'upsertDevice',
  'insertWallet', 'setWalletStatus', 'advanceWalletRequestCounter', 'getEmoneyRequest', 'getEmoneyTokens',
] as const satisfies readonly (keyof LedgerTx)[];
export type TxMethod = (typeof txMethods)[number];

export type RequestBody =
  | { op: 'store'; method: StoreMethod; args: unknown[] }
  /** Opens a unit of work in the worker and holds it open; answers with its id. */
  | { op: 'begin' }
  | { op: 'tx'; tx: number; method: TxMethod; args: unknown[] }
  /** Commits (durably, when answered) or rolls back the held unit of work. */
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'close' }
  /** Tests only: replace the worker's faults. */
  | { op: 'faults'; faults: WorkerFaults };
export type Request = RequestBody & { id: number };

export interface WireError {
  kind: 'core' | 'invariant' | 'worker' | 'sqlite' | 'other';
  name: string;
  message: string;
  code: string | null;
  stack: string | null;
}

/** `id` 0 is the worker's own: `ok` once it has opened the database (it is ready), else why it could not. */
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** What the worker is started with (workerData). */
export interface WorkerData {
  path: string;
  cacheKiB?: number;
  busyTimeoutMs?: number;
  messageBytesMax: number;
  faults: WorkerFaults;
}

/** Tests only: the worker thread exits (as a crash would) instead of answering. */
export interface WorkerFaults {
  /** Exit on receiving this call (a LedgerStore or LedgerTx method, or 'commit'), before doing it. */
  exitBefore?: StoreMethod | TxMethod | 'commit';
  /** Exit right after doing this call, before answering it. */
  exitAfter?: StoreMethod | TxMethod | 'commit';
  /** Spin on receiving this call and never answer (a stuck thread: the main thread's callTimeoutMs ends it). */
  stallBefore?: StoreMethod | TxMethod | 'commit';
}

/** The name a fault refers to: the method called, or 'commit' / 'rollback' / 'begin' / 'close'. */
export function callName(r: RequestBody): string {
  switch (r.op) {
    case 'store':
    case 'tx':
      return r.method;
    case 'end':
      return r.commit ? 'commit' : 'rollback';
    default:
      return r.op;
  }
}

/**
 * The size of a message's payload, bytes: its strings' characters and 9 per
 * number, plus keys and a little per container — within ~5–20 % above the
 * structured-clone size postMessage makes of it (measured: a 1,000-settlement
 * WriteSet, 1.29 MB here against 1.25 MB cloned; 0.3 ms to walk). The walk
 * stops once it passes `bytesMax`, so a huge message costs no more than that.
 */
export function payloadBytes(value: unknown, bytesMax: number): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total <= bytesMax) {
    const v = stack.pop();
    if (typeof v === 'string') total += v.length + 2;
    else if (typeof v === 'number') total += 9;
    else if (typeof v !== 'object' || v === null) total += 1;
    else if (Array.isArray(v)) {
      total += 4;
      for (const x of v) stack.push(x);
    } else if (v instanceof Map) {
      total += 4;
      for (const [k, x] of v) stack.push(k, x);
    } else if (v instanceof Set) {
      total += 4;
      for (const x of v) stack.push(x);
    } else {
      total += 4;
      for (const k in v) {
        total += k.length + 2;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return total;
}

/**
 * Checks a message against messageBytesMax before it is posted: over it, a
 * coded refusal, and nothing is sent. Returns its size. The message itself
 * goes as an object: postMessage clones it natively, measured 2–4 times
 * cheaper per call than v8.serialize into a transferred buffer (most calls
 * are small: ~10 against ~20 µs a round trip).
 */
export function checkSize(message: Request | Reply, bytesMax: number): number {
  const bytes = payloadBytes(message, bytesMax);
  if (bytes > bytesMax) {
    const what = 'op' in message ? `call ${callName(message)}` : 'answer';
    throw new WorkerStoreError('TS_ERR_STORE_WORKER_MESSAGE_SIZE', `ledger worker: ${what} is over messageBytesMax (${bytesMax} bytes)`);
  }
  return bytes;
}

const codeOf = (err: Error): string | null => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
};

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { kind: 'other', name: 'Error', message: String(err), code: null, stack: null };
  const kind: WireError['kind'] = err instanceof InvariantError ? 'invariant'
    : err instanceof CoreError ? 'core'
      : err instanceof WorkerStoreError ? 'worker'
        : err instanceof Database.SqliteError ? 'sqlite' : 'other';
  return { kind, name: err.name, message: err.message, code: codeOf(err), stack: err.stack ?? null };
}

/** The error as the class the SQLite store threw in the worker, with its code and the worker's stack. */
export function fromWire(w: WireError): Error {
  let err: Error;
  switch (w.kind) {
    case 'invariant':
      err = new InvariantError('');
      err.message = w.message;
      break;
    case 'core':
      err = new CoreError((coreErrorCodes as readonly string[]).includes(w.code ?? '') ? w.code as CoreErrorCode : 'TS_ERR_STORE', w.message);
      break;
    case 'worker':
      err = new WorkerStoreError((workerStoreErrorCodes as readonly string[]).includes(w.code ?? '') ? w.code as WorkerStoreErrorCode : 'TS_ERR_STORE_WORKER_DIED', w.message);
      break;
    case 'sqlite':
      err = new Database.SqliteError(w.message, w.code ?? 'SQLITE_ERROR');
      break;
    default:
      err = w.name === 'TypeError' ? new TypeError(w.message) : w.name === 'RangeError' ? new RangeError(w.message) : new Error(w.message);
      err.name = w.name;
      if (w.code !== null) Object.assign(err, { code: w.code });
  }
  if (w.stack !== null) err.stack = `${w.stack}\n    (in the ledger worker thread)`;
  return err;
}
