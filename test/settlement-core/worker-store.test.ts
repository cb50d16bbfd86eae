/**
 * The SQLite store served from a worker thread: the store contract, then
 * what only a thread boundary can do — the worker dying or getting stuck
 * mid-transaction (waiting calls fail with a code, the store says failed,
 * nothing half-committed after a reopen), its limits, close, errors arriving
 * as their own classes, fuzzed calls, and the sharded store on worker servers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoreError, InvariantError } from '../../settlement-core/index.ts';
import type { Account, LedgerStore, WriteSet } from '../../settlement-core/index.ts';
import { Directory, ShardedLedgerStore, openShardedStore } from '../../settlement-core/store/sharded/index.ts';
import type { ShardedAuditReport } from '../../settlement-core/store/sharded/index.ts';
import { WorkerLedgerStore, WorkerStoreError } from '../../settlement-core/store/worker/index.ts';
import type { WorkerFaults, WorkerStoreOptions } from '../../settlement-core/store/worker/index.ts';
import { Clock, balanceOf, makeRequest, settleOk, tempDir } from './fixtures.ts';
import { openShardedCore, seedShardedStation, testDirectory } from './sharded/helpers.ts';
import { fileStoreHandle, ledgerStoreContract } from './store-contract.ts';

ledgerStoreContract('SQLite in a worker thread', () => fileStoreHandle('tapsettle-worker-store-', (path) => new WorkerLedgerStore({ path })));

const account = (id: string, kind: Account['kind'], floor = 0): Account => ({
  id, kind, currency: 'EUR', name: id, balance: 0, floor, status: 'active', attributes: {}, createdAt: 1,
});
const funding = '000-0000001';
const customer = '100-0000001';

/** funding → customer, `amount`, from the balances on disk (0 and 0 on a fresh seed). */
const fund = (amount: number, reference: string, before = 0): WriteSet => ({
  journalInserts: [], journalUpdates: [],
  transfers: [{ kind: 'fund', from: funding, to: customer, amount, currency: 'EUR', fromBalanceAfter: -before - amount, toBalanceAfter: before + amount, journalDeviceId: null, journalRequestId: null, reference, at: 1 }],
  balances: [{ id: funding, before: -before, after: -before - amount }, { id: customer, before, after: before + amount }],
});

/** A migrated file with a funding account and a customer; the caller opens it again with the options under test. */
async function seededFile(): Promise<{ path: string; epoch: number; cleanup: () => void }> {
  const t = tempDir('tapsettle-worker-fault-');
  const path = join(t.dir, 'ledger.db');
  const store = new WorkerLedgerStore({ path });
  await store.migrate();
  const epoch = await store.transaction(async (tx) => {
    const { current } = await tx.bumpEpoch();
    await tx.insertAccount(account(funding, 'external-funding', -1e12));
    await tx.insertAccount(account(customer, 'customer'));
    return current;
  });
  await store.close();
  return { path, epoch, cleanup: t.cleanup };
}

async function withFile(fn: (f: { path: string; epoch: number; open: (o?: Omit<WorkerStoreOptions, 'path'>) => Promise<WorkerLedgerStore> }) => Promise<void>): Promise<void> {
  const f = await seededFile();
  const opened: WorkerLedgerStore[] = [];
  try {
    await fn({
      ...f,
      open: async (o = {}) => {
        const store = new WorkerLedgerStore({ path: f.path, ...o });
        opened.push(store);
        await store.migrate();
        return store;
      },
    });
  } finally {
    for (const s of opened) await s.close();
    f.cleanup();
  }
}

/** What a reopen finds: the customer's balance, the transfers, the epoch a new unit of work starts from. */
async function onDisk(open: () => Promise<WorkerLedgerStore>): Promise<{ balance: number; transfers: number; epoch: number }> {
  const store = await open();
  const balance = (await store.getAccount(customer))!.balance;
  const transfers = (await store.scanTransfers(0, 100)).length;
  const epoch = (await store.transaction((tx) => tx.bumpEpoch())).previous;
  await store.close();
  return { balance, transfers, epoch };
}

const code = (c: string): unknown => expect.objectContaining({ code: c });

describe('a worker that dies', () => {
  it.each<[string, WorkerFaults]>([
    ['right after apply, before answering', { exitAfter: 'apply' }],
    ['when asked to commit, before committing', { exitBefore: 'commit' }],
  ])('%s: the waiting call and the unit of work fail with TS_ERR_STORE_WORKER_DIED, the store is failed, nothing is on disk after a reopen', (_, faults) => withFile(async (f) => {
    const store = await f.open({ faults });
    let applied = false;
    await expect(store.transaction(async (tx) => {
      await tx.bumpEpoch();
      await tx.apply(fund(50, 'ref-1'));
      applied = true;
    })).rejects.toThrow(WorkerStoreError);
    expect(applied).toBe(faults.exitBefore === 'commit');
    expect(store.state).toBe('failed');
    expect(store.failure).toEqual(code('TS_ERR_STORE_WORKER_DIED'));
    // Every later call is refused at once with the same error, never left waiting.
    await expect(store.getAccount(customer)).rejects.toEqual(code('TS_ERR_STORE_WORKER_DIED'));
    await expect(store.transaction(() => Promise.resolve())).rejects.toEqual(code('TS_ERR_STORE_WORKER_DIED'));
    await store.close();
    expect(store.state).toBe('closed');
    expect(await onDisk(() => f.open())).toEqual({ balance: 0, transfers: 0, epoch: f.epoch });
  }));

  it('after committing, before answering: the unit of work is reported failed, and it is on disk (the outcome a crash leaves unknown; a retry finds it)', () => withFile(async (f) => {
    const store = await f.open({ faults: { exitAfter: 'commit' } });
    await expect(store.transaction(async (tx) => {
      await tx.bumpEpoch();
      await tx.apply(fund(50, 'ref-1'));
    })).rejects.toEqual(code('TS_ERR_STORE_WORKER_DIED'));
    expect(await onDisk(() => f.open())).toEqual({ balance: 50, transfers: 1, epoch: f.epoch + 1 });
  }));

  it('fails every call waiting for it, reads and the unit of work alike', () => withFile(async (f) => {
    const store = await f.open({ faults: { exitBefore: 'statement' } });
    let tx!: Parameters<Parameters<LedgerStore['transaction']>[0]>[0];
    let opened!: () => void;
    let release!: () => void;
    const isOpen = new Promise<void>((r) => { opened = r; });
    const released = new Promise<void>((r) => { release = r; });
    const unit = store.transaction(async (t) => {
      tx = t;
      opened();
      await released;
    });
    await isOpen;
    const waiting = [
      store.getAccount(customer), store.listAccounts({ limit: 10 }), tx.getAccounts([customer]),
      store.statement(customer, { limit: 10 }), store.getAccount(funding),
    ];
    const settled = await Promise.allSettled(waiting);
    // Calls sent before the fatal one may have been answered; the fatal one and every one after it fail with the code.
    expect(settled.slice(3).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of settled) if (r.status === 'rejected') expect(r.reason).toEqual(code('TS_ERR_STORE_WORKER_DIED'));
    expect(store.state).toBe('failed');
    await expect(tx.bumpEpoch()).rejects.toEqual(code('TS_ERR_STORE_WORKER_DIED'));
    // The unit of work's owner finishes: its commit is refused with the same code, not left hanging.
    release();
    await expect(unit).rejects.toEqual(code('TS_ERR_STORE_WORKER_DIED'));
    await store.close();
  }));

  it('a stuck worker: the call times out with TS_ERR_STORE_WORKER_TIMEOUT, the worker is terminated, its unit of work rolls back', () => withFile(async (f) => {
    const store = await f.open({ faults: { stallBefore: 'commit' }, limits: { callTimeoutMs: 200 } });
    await expect(store.transaction(async (tx) => {
      await tx.bumpEpoch();
      await tx.apply(fund(50, 'ref-1'));
    })).rejects.toEqual(code('TS_ERR_STORE_WORKER_TIMEOUT'));
    expect(store.state).toBe('failed');
    await store.close();
    expect(await onDisk(() => f.open())).toEqual({ balance: 0, transfers: 0, epoch: f.epoch });
  }));

  it('a file that cannot be opened: the store is failed with the error SQLite gave (class and code), close still resolves', async () => {
    const t = tempDir('tapsettle-worker-open-');
    writeFileSync(join(t.dir, 'garbage.db'), 'this is not a database, and it is long enough for SQLite to look at its header'.repeat(20));
    const garbage = new WorkerLedgerStore({ path: join(t.dir, 'garbage.db') });
    const missing = new WorkerLedgerStore({ path: join(t.dir, 'no-such-dir', 'ledger.db') });
    try {
      const err = await garbage.migrate().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(Database.SqliteError);
      expect(err).toEqual(code('SQLITE_NOTADB'));
      expect(garbage.state).toBe('failed');
      await expect(garbage.getAccount(customer)).rejects.toBe(err);
      // better-sqlite3 says a missing directory with a TypeError: it arrives as one.
      await expect(missing.migrate()).rejects.toBeInstanceOf(TypeError);
      expect(missing.state).toBe('failed');
    } finally {
      await garbage.close();
      await missing.close();
      t.cleanup();
    }
  });
});

describe('limits', () => {
  it('refuses a call past callsInFlightMax with TS_ERR_STORE_WORKER_BUSY and stays open', () => withFile(async (f) => {
    const store = await f.open({ limits: { callsInFlightMax: 2 } });
    const calls = [store.getAccount(customer), store.getAccount(funding), store.getAccount(customer)];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((settled[2] as PromiseRejectedResult).reason).toEqual(code('TS_ERR_STORE_WORKER_BUSY'));
    expect(store.state).toBe('open');
    expect((await store.getAccount(customer))?.balance).toBe(0);
  }));

  it('refuses a call, or an answer, over messageBytesMax with TS_ERR_STORE_WORKER_MESSAGE_SIZE: nothing written, the store stays open', () => withFile(async (f) => {
    const store = await f.open({ limits: { messageBytesMax: 4096 } });
    const big = fund(50, 'r'.repeat(8000));
    await expect(store.transaction(async (tx) => {
      await tx.bumpEpoch();
      await tx.apply(big);
    })).rejects.toEqual(code('TS_ERR_STORE_WORKER_MESSAGE_SIZE'));
    await store.transaction(async (tx) => {
      await tx.bumpEpoch();
      for (let i = 0; i < 40; i += 1) await tx.insertAccount(account(`200-${String(i).padStart(7, '0')}`, 'customer'));
    });
    // Forty accounts are over 4 KiB as an answer: refused in the worker, the call fails, the worker carries on.
    await expect(store.listAccounts({ limit: 100 })).rejects.toEqual(code('TS_ERR_STORE_WORKER_MESSAGE_SIZE'));
    expect(store.state).toBe('open');
    expect((await store.listAccounts({ limit: 3 })).length).toBe(3);
    expect((await store.getAccount(customer))?.balance).toBe(0);
  }));

  it('validates its options with a coded error naming the option', () => {
    expect(() => new WorkerLedgerStore({ path: ':memory:' })).toThrow(expect.objectContaining({ code: 'TS_ERR_INVALID_ARGUMENT' }) as Error);
    expect(() => new WorkerLedgerStore({ path: '/tmp/x.db', limits: { callsInFlightMax: 0 } })).toThrow(/callsInFlightMax/);
    expect(() => new WorkerLedgerStore({ path: '/tmp/x.db', limits: { messageBytesMax: 1.5 } })).toThrow(WorkerStoreError);
  });
});

describe('close and errors', () => {
  it('close waits for the unit of work under way, then terminates the worker; later calls are TS_ERR_CLOSED; a second close is a no-op', () => withFile(async (f) => {
    const store = await f.open();
    const unit = store.transaction(async (tx) => {
      await tx.bumpEpoch();
      await new Promise((r) => setTimeout(r, 50));
      await tx.apply(fund(50, 'ref-1'));
    });
    const closing = store.close();
    await expect(store.transaction(() => Promise.resolve())).rejects.toEqual(code('TS_ERR_CLOSED'));
    await unit;
    await closing;
    expect(store.state).toBe('closed');
    await expect(store.getAccount(customer)).rejects.toEqual(code('TS_ERR_CLOSED'));
    await store.close();
    expect((await onDisk(() => f.open())).balance).toBe(50);
  }));

  it('errors thrown in the worker arrive as their classes with their codes', () => withFile(async (f) => {
    const fresh = new WorkerLedgerStore({ path: f.path });
    await expect(fresh.getAccount(customer)).rejects.toEqual(code('TS_ERR_NOT_INITIALISED'));
    await expect(fresh.getAccount(customer)).rejects.toBeInstanceOf(CoreError);
    await fresh.close();
    const store = await f.open();
    const stale = await store.transaction((tx) => tx.apply({ ...fund(5, 'x'), balances: [{ id: customer, before: 7, after: 8 }] })).then(() => null, (e: unknown) => e);
    expect(stale).toBeInstanceOf(InvariantError);
    expect(stale).toMatchObject({ code: 'TS_ERR_INVARIANT', message: expect.stringMatching(/^invariant broken: account 100-0000001 balance on disk is not 7/) as string });
    const dup = await store.transaction((tx) => tx.insertAccount(account(customer, 'customer'))).then(() => null, (e: unknown) => e);
    expect(dup).toBeInstanceOf(Database.SqliteError);
    expect(dup).toMatchObject({ name: 'SqliteError', code: expect.stringMatching(/^SQLITE_CONSTRAINT/) as string });
    // The unit of work that failed rolled back, and the store carries on.
    await store.transaction((tx) => tx.apply(fund(5, 'ok')));
    expect((await store.getAccount(customer))?.balance).toBe(5);
  }));

  it('fuzzed calls (unknown names, wrong arguments) are answered with an error and the worker stays up', () => withFile(async (f) => {
    const store = await f.open();
    const methods = fc.oneof(fc.constantFrom('getAccount', 'statement', 'scanTransfers', 'listJournal', 'dueEntries'), fc.string({ maxLength: 20 }));
    await fc.assert(fc.asyncProperty(methods, fc.array(fc.jsonValue(), { maxLength: 3 }), async (method, args) => {
      await store.request({ op: 'store', method: method as 'getAccount', args }).catch((e: unknown) => expect(e).toBeInstanceOf(Error));
      await store.request({ op: 'tx', tx: 999, method: method as 'apply', args }).catch((e: unknown) => expect(e).toBeInstanceOf(Error));
      expect(store.state).toBe('open');
    }), { numRuns: 200 });
    expect((await store.getAccount(customer))?.kind).toBe('customer');
  }));
});

describe('the sharded store on worker servers', () => {
  it('openShardedStore with thread: true settles across three servers and the global audit passes', async () => {
    const t = tempDir('tapsettle-worker-sharded-');
    const store = openShardedStore({
      servers: [0, 1, 2].map((i) => ({ kind: 'sqlite' as const, path: join(t.dir, `server-${i}.db`), thread: true })),
      directoryPath: join(t.dir, 'directory.db'), directory: testDirectory(3),
    });
    expect(store.servers.map((s) => s.kind)).toEqual(['sqlite-worker', 'sqlite-worker', 'sqlite-worker']);
    const core = await openShardedCore(store, { clock: new Clock().read });
    try {
      const s = await seedShardedStation(core, new Clock(), [1000, 1000, 1000]);
      for (const w of s.wallets) expect((await settleOk(s, makeRequest(s, w, { amount: 100 }))).result.status).toBe('approved');
      await core.drain();
      expect(await balanceOf(core, s.merchant)).toBe(300);
      const report = (await core.audit()) as ShardedAuditReport;
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    } finally {
      await core.close();
      t.cleanup();
    }
  });

  it('a server\'s worker dying before its commit fails the batch (nothing approved), and after a reopen the retries settle once and the audit passes', async () => {
    const t = tempDir('tapsettle-worker-sharded-crash-');
    const clock = new Clock();
    const servers = () => [0, 1, 2].map((i) => new WorkerLedgerStore({ path: join(t.dir, `server-${i}.db`) }));
    const open = (stores = servers()) => new ShardedLedgerStore({ servers: stores, directory: Directory.open(join(t.dir, 'directory.db'), testDirectory(3)) });
    let core = await openShardedCore(open(), { clock: clock.read });
    const s = await seedShardedStation(core, clock, [1000, 1000, 1000]);
    await core.close();
    try {
      const stores = servers();
      core = await openShardedCore(open(stores), { clock: clock.read });
      // The payers are on servers 0, 1 and 2: the next unit of work commits 1 and 2 at once, then 0; server 2's worker dies at its COMMIT.
      await stores[2]!.setFaults({ exitBefore: 'commit' });
      const station = { ...s, core };
      const requests = s.wallets.map((w) => makeRequest(station, w, { amount: 100 }));
      // One batch: its unit of work writes on all three servers, and fails as a whole — nobody is answered.
      const first = await Promise.allSettled(requests.map((r) => core.settle(r.deviceId, JSON.stringify(r))));
      expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const r of first) expect((r as PromiseRejectedResult).reason).toEqual(code('TS_ERR_STORE'));
      await core.close().catch(() => undefined);

      core = await openShardedCore(open(), { clock: clock.read });
      // Each server's part was whole: server 1 committed its payer's entry (answered from the journal on the retry), servers 2 and 0 nothing.
      const journalled = await Promise.all(requests.map((r) => core.store.getJournalEntry({ deviceId: r.deviceId, requestId: r.requestId })));
      expect(journalled.map((e) => e?.state ?? null)).toEqual([null, 'deposited', null]);
      const again = { ...s, core };
      for (const r of requests) expect((await settleOk(again, r)).result.status).toBe('approved');
      await core.drain();
      expect(await balanceOf(core, s.merchant)).toBe(300);
      for (const w of s.wallets) expect(await balanceOf(core, w.account)).toBe(900);
      const report = (await core.audit()) as ShardedAuditReport;
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    } finally {
      await core.close();
      t.cleanup();
    }
  });
});
