/**
 * The worker thread of WorkerLedgerStore: the existing SqliteLedgerStore,
 * unchanged, serving one request at a time from the main thread. A unit of
 * work is held open here (open-tx.ts) between `begin` and `end`, while the
 * main thread sends its calls; `end` commits — durably, before it is
 * answered — or rolls back. If this thread dies, SQLite never sees a COMMIT
 * for the open unit of work, and its writes are gone on the next open.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { holdTransaction } from '../sharded/open-tx.ts';
import type { HeldTx } from '../sharded/open-tx.ts';
import { SqliteLedgerStore } from '../sqlite/sqlite-store.ts';
import { WorkerStoreError } from './errors.ts';
import { callName, checkSize, storeMethods, toWire, txMethods } from './wire.ts';
import type { Reply, Request, StoreMethod, TxMethod, WorkerData } from './wire.ts';

/** The store or a unit of work seen as its named calls (the names are checked against wire.ts's lists first). */
type Callable<M extends string> = Record<M, (...args: unknown[]) => Promise<unknown>>;

const port = parentPort!;
const data = workerData as WorkerData;
/** Exit code of a fault-injected death (tests), so a log tells it from a real crash. */
const faultExitCode = 70;

function send(reply: Reply): void {
  try {
    checkSize(reply, data.messageBytesMax);
    port.postMessage(reply);
  } catch (err) {
    // Too large, or not cloneable: the call fails with why; the worker carries on.
    port.postMessage({ id: reply.id, ok: false, error: toWire(err) } satisfies Reply);
  }
}

/** The store, or why it could not be opened (then every call is answered with that, and the main thread fails the store). */
let opened: { store: SqliteLedgerStore } | { error: unknown };
try {
  opened = {
    store: new SqliteLedgerStore({
      path: data.path,
      ...(data.cacheKiB !== undefined ? { cacheKiB: data.cacheKiB } : {}),
      ...(data.busyTimeoutMs !== undefined ? { busyTimeoutMs: data.busyTimeoutMs } : {}),
    }),
  };
  send({ id: 0, ok: true, value: null });
} catch (err) {
  opened = { error: err };
  send({ id: 0, ok: false, error: toWire(err) });
}
let faults = data.faults;

const held = new Map<number, HeldTx>();
let nextTx = 1;
const storeCalls: ReadonlySet<string> = new Set(storeMethods);
const txCalls: ReadonlySet<string> = new Set(txMethods);

async function run(r: Request): Promise<unknown> {
  if ('error' in opened) throw opened.error;
  const store = opened.store;
  switch (r.op) {
    case 'store': {
      if (!storeCalls.has(r.method)) throw new TypeError(`ledger worker: no store call ${String(r.method)}`);
      return (store as unknown as Callable<StoreMethod>)[r.method](...r.args);
    }
    case 'begin': {
      const h = await holdTransaction(store);
      const id = nextTx++;
      held.set(id, h);
      return id;
    }
    case 'tx': {
      const h = held.get(r.tx);
      if (!h) throw new WorkerStoreError('TS_ERR_STORE_WORKER_TX_ENDED', `ledger worker: unit of work ${r.tx} is not open`);
      if (!txCalls.has(r.method)) throw new TypeError(`ledger worker: no transaction call ${String(r.method)}`);
      return (h.tx as unknown as Callable<TxMethod>)[r.method](...r.args);
    }
    case 'end': {
      const h = held.get(r.tx);
      if (!h) throw new WorkerStoreError('TS_ERR_STORE_WORKER_TX_ENDED', `ledger worker: unit of work ${r.tx} is not open`);
      held.delete(r.tx);
      await h.finish(r.commit);
      return null;
    }
    case 'faults':
      faults = r.faults;
      return null;
    case 'close':
      for (const h of held.values()) await h.finish(false).catch(() => undefined);
      held.clear();
      await store.close();
      return null;
  }
}

async function handle(r: Request): Promise<void> {
  const name = callName(r);
  if (faults.exitBefore === name) process.exit(faultExitCode);
  while (faults.stallBefore === name) {
    // Stuck on purpose (tests): only terminate() ends this.
  }
  let reply: Reply;
  try {
    reply = { id: r.id, ok: true, value: await run(r) };
  } catch (err) {
    reply = { id: r.id, ok: false, error: toWire(err) };
  }
  if (faults.exitAfter === name) process.exit(faultExitCode);
  send(reply);
}

port.on('message', (r: Request) => {
  void handle(r);
});
