/**
 * The PostgreSQL store against a real server: the store contract, the store's
 * own promises (migrations, multi-row group commit, read-back checks), a
 * SettlementCore on it end to end, and two "gateway nodes" writing at once.
 * Needs TAPSETTLE_PG_URL; every test works in a fresh schema, dropped after.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { InvariantError, PgLedgerStore, SettlementCore, audit } from '../../settlement-core/index.ts';
import type { Account, JournalEntry, LedgerStore, LedgerTx, NewTransfer } from '../../settlement-core/index.ts';
import { Clock, balanceOf, deviceKey, issuerMasterKey, makeRequest, seedStation, settleOk } from './fixtures.ts';
import { ledgerStoreContract } from './store-contract.ts';
import { migrations } from '../../settlement-core/store/postgres/schema.ts';

const url = process.env.TAPSETTLE_PG_URL ?? '';
if (!url) console.warn('postgres-store.test.ts skipped: TAPSETTLE_PG_URL is not set (CI sets postgres://postgres@127.0.0.1:5432/test)');

const schemas: string[] = [];
const freshSchema = (): string => schemas[schemas.push(`ts_test_${randomBytes(6).toString('hex')}`) - 1]!;
const openStore = (schema: string): PgLedgerStore => new PgLedgerStore({ connectionString: url, schema, poolSizeMax: 3 });

/** One statement on a connection of its own (the test's view of the database, beside the store's). */
async function sql(text: string): Promise<unknown[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c.query(text).then((r) => r.rows as unknown[]).finally(() => c.end());
}

afterAll(async () => {
  for (const schema of schemas.splice(0)) await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

const account = (id: string, kind: Account['kind'], floor = 0): Account => ({
  id, kind, currency: 'EUR', name: id, balance: 0, floor, status: 'active', attributes: {}, createdAt: 1,
});
const fundTransfer = (to: string, amount: number, fromAfter: number, toAfter: number): NewTransfer => ({
  kind: 'fund', from: '000-0000001', to, amount, currency: 'EUR', fromBalanceAfter: fromAfter, toBalanceAfter: toAfter,
  journalDeviceId: null, journalRequestId: null, reference: null, at: 1,
});
const none = { journalInserts: [], journalUpdates: [], transfers: [], balances: [] };
const balanceOf2 = async (store: LedgerStore, id: string) => (await store.getAccount(id))?.balance;

/** Funding, clearing and `customers` customer accounts, each funded with `each`. */
async function seedLedger(store: LedgerStore, customers: string[], each: number): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.bumpEpoch();
    await tx.insertAccount(account('000-0000001', 'external-funding', -1e12));
    await tx.insertAccount(account('000-0000002', 'clearing'));
    for (const id of customers) await tx.insertAccount(account(id, 'customer'));
    if (each === 0) return;
    const transfers = customers.map((id, i) => fundTransfer(id, each, -each * (i + 1), each));
    await tx.apply({ ...none, transfers, balances: [{ id: '000-0000001', before: 0, after: -each * customers.length }, ...customers.map((id) => ({ id, before: 0, after: each }))] });
  });
}

it('validates its options, naming the bad key', () => {
  const ok = { connectionString: 'postgres://x@127.0.0.1/none' };
  expect(() => new PgLedgerStore({ ...ok, poolSizeMax: 1 })).toThrow(/poolSizeMax: must be an integer 2\.\.1000, got 1/);
  expect(() => new PgLedgerStore({ ...ok, statementTimeoutMs: 1.5 })).toThrow(/statementTimeoutMs/);
  expect(() => new PgLedgerStore({ ...ok, schema: 'Robert"); DROP' })).toThrow(/option schema/);
  expect(() => new PgLedgerStore({ ...ok, poolSize: 4 } as never)).toThrow(/option poolSize: unknown option/);
  expect(() => new PgLedgerStore({ connectionString: '' })).toThrow(/connectionString/);
  expect(() => new PgLedgerStore({ connectionString: 'host=x dbname=y' })).toThrow(/connectionString: must be a URL/);
  expect(() => new PgLedgerStore({ connectionString: 'postgres://u:secret@h/db?options=-c%20search_path%3Dother' })).toThrow(/parameter options= would override/);
  expect(() => new PgLedgerStore({ connectionString: 'postgres://u:secret@h/db?statement_timeout=0' })).toThrow(/^(?!.*secret).*statement_timeout= would override/);
});

describe.skipIf(!url)('PostgreSQL store', () => {
  ledgerStoreContract('PostgreSQL', () => {
    const schema = freshSchema();
    let store: LedgerStore = openStore(schema);
    return Promise.resolve({
      get store() {
        return store;
      },
      async reopen() {
        await store.close();
        store = openStore(schema);
        await store.migrate();
        return store;
      },
      async cleanup() {
        await store.close();
        await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      },
    });
  });

  describe('PgLedgerStore', () => {
    it('migrates once under concurrent migrators, refuses newer schemas and use before migrate()', async () => {
      const schema = freshSchema();
      const [a, b] = [openStore(schema), openStore(schema)];
      try {
        await expect(a.getAccount('100-0000001')).rejects.toMatchObject({ code: 'TS_ERR_NOT_INITIALISED' });
        await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
        expect(await sql(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)).toEqual(migrations.map((_, i) => ({ version: i + 1 })));
        await sql(`INSERT INTO ${schema}.schema_migrations (version) VALUES (99)`);
        await expect(b.migrate()).rejects.toThrow(/schema version 99 is newer than this code/);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('group-commits thousands of rows in chunked multi-row statements, in array order', async () => {
      const store = openStore(freshSchema());
      try {
        await store.migrate();
        await seedLedger(store, ['100-0000001'], 0);
        const n = 2_500; // > rowsPerStatementMax: two statements per table
        const entries: JournalEntry[] = Array.from({ length: n }, (_, i) => ({
          seq: null, deviceId: 'dev-1', requestId: `r-${String(i).padStart(5, '0')}`, fingerprint: 'f', state: 'withdrawn', reason: null,
          walletId: 'w-1', counter: i, payer: '100-0000001', merchant: null, article: null, amount: 1, currency: 'EUR', depositNotBefore: null,
          awaitingOutcome: i % 2 === 0, dueAt: i, outcome: null, outcomeRequestId: null, requestJson: `{"i":${i},"q":"it's \\"quoted\\""}`, resultJson: '{}', receivedAt: 1, updatedAt: 1,
        }));
        const transfers = Array.from({ length: n }, (_, i) => fundTransfer('100-0000001', 1, -(i + 1), i + 1));
        await store.transaction((tx) => tx.apply({ journalInserts: entries, journalUpdates: [], transfers, balances: [{ id: '000-0000001', before: 0, after: -n }, { id: '100-0000001', before: 0, after: n }] }));
        const scanned = await store.scanTransfers(0, n);
        expect(scanned.map((t) => t.toBalanceAfter)).toEqual(transfers.map((t) => t.toBalanceAfter));
        const listed = await store.listJournal({ limit: n });
        expect(listed.map((e) => e.requestId)).toEqual(entries.map((e) => e.requestId));
        expect(listed[3]).toEqual({ ...entries[3], seq: listed[3]!.seq });
        // The entries are made up (no withdraw transfers): only the money checks apply.
        expect((await audit(store)).checks.filter((c) => ['chain', 'balances', 'conservation'].includes(c.name) && !c.ok)).toEqual([]);
        const fields = { dueAt: null, awaitingOutcome: false, outcome: 'dispensed', outcomeRequestId: 'o-1', depositNotBefore: null, updatedAt: 2 };
        const updates = entries.map((e) => ({ key: e, from: 'withdrawn' as const, to: 'deposited' as const, fields }));
        const stale = [...updates.slice(0, 2_100), { ...updates[2_100]!, from: 'deferred' as const }];
        await expect(store.transaction((tx) => tx.apply({ ...none, journalUpdates: stale }))).rejects.toThrow(/r-02100 was not in state deferred on disk/);
        expect(await store.countJournalByState()).toEqual({ withdrawn: n });
        await store.transaction((tx) => tx.apply({ ...none, journalUpdates: updates }));
        expect(await store.countJournalByState()).toEqual({ deposited: n });
        expect(await store.nextDueAt()).toBeNull();
      } finally {
        await store.close();
      }
    });

    it('applies two updates of one row in order, as the SQLite store does, and checks every step', async () => {
      const store = openStore(freshSchema());
      try {
        await store.migrate();
        await seedLedger(store, ['100-0000001', '100-0000002'], 10);
        await store.transaction((tx) => tx.apply({ ...none, balances: [{ id: '100-0000001', before: 10, after: 5 }, { id: '100-0000002', before: 10, after: 15 }, { id: '100-0000001', before: 5, after: 7 }] }));
        expect(await balanceOf2(store, '100-0000001')).toBe(7);
        await expect(store.transaction((tx) => tx.apply({ ...none, balances: [{ id: '100-0000001', before: 7, after: 1 }, { id: '100-0000001', before: 9, after: 2 }] }))).rejects.toBeInstanceOf(InvariantError);
        expect(await balanceOf2(store, '100-0000001')).toBe(7);
      } finally {
        await store.close();
      }
    });

    it('never commits a transaction after a failed statement, even if fn swallowed the error', async () => {
      const store = openStore(freshSchema());
      try {
        await store.migrate();
        await seedLedger(store, ['100-0000001'], 0);
        const before = await store.transaction((tx) => tx.bumpEpoch());
        await expect(store.transaction(async (tx) => {
          await tx.bumpEpoch();
          await tx.insertAccount(account('100-0000001', 'customer')).catch(() => undefined);
          return 'done';
        })).rejects.toThrow(/duplicate key/);
        expect((await store.transaction((tx) => tx.bumpEpoch())).previous).toBe(before.current);
      } finally {
        await store.close();
      }
    });

    it('checks BIGINT values read back: money beyond 2^53 is an invariant error, not a rounded number', async () => {
      const schema = freshSchema();
      const store = openStore(schema);
      try {
        await store.migrate();
        await seedLedger(store, ['100-0000001'], 0);
        await sql(`UPDATE ${schema}.accounts SET balance = 9007199254740993 WHERE id = '100-0000001'`);
        await expect(store.getAccount('100-0000001')).rejects.toBeInstanceOf(InvariantError);
      } finally {
        await store.close();
      }
    });
  });

  it('runs a SettlementCore end to end: approve, replay byte for byte, defer, deposit, audit', async () => {
    const schema = freshSchema();
    const clock = new Clock();
    const open = () => SettlementCore.open({ store: openStore(schema), issuerMasterKey, deviceKey, scheduler: false, clock: clock.read });
    let core = await open();
    try {
      const s = await seedStation(core, clock, [{ balance: 1000 }, { balance: 2000 }]);
      const [w0, w1] = [s.wallets[0]!, s.wallets[1]!];
      const req = makeRequest(s, w0, { amount: 250 });
      const first = await settleOk(s, req);
      expect(first.result.status).toBe('approved');
      const burst = await Promise.all(Array.from({ length: 40 }, () => settleOk(s, makeRequest(s, w1, { amount: 10 }))));
      expect(burst.every((r) => r.result.status === 'approved')).toBe(true);
      const deferred = await settleOk(s, makeRequest(s, w1, { amount: 400, restrictions: { coolingOffSec: 3600 } }));
      expect(deferred.result).toMatchObject({ status: 'approved', deferredUntil: clock.now + 3_600_000 });
      await core.drain();
      expect(await balanceOf(core, s.merchant)).toBe(250 + 400);
      await core.close();
      core = await open(); // a restart: the journal answers from disk
      s.core = core;
      clock.advance(5_000);
      const again = await settleOk(s, { ...req, sentAt: clock.now, seq: 9 });
      expect(again.replay).toBe(true);
      expect(again.json).toBe(first.json);
      expect(await core.store.getJournalEntry({ deviceId: s.device, requestId: deferred.result.requestId })).toMatchObject({ state: 'deferred' });
      clock.advance(3_600_000);
      expect(await core.runDue()).toBe(1);
      expect(await core.store.getJournalEntry({ deviceId: s.device, requestId: deferred.result.requestId })).toMatchObject({ state: 'deposited' });
      expect(await balanceOf(core, s.merchant)).toBe(250 + 400 + 400);
      expect(await balanceOf(core, w1.account)).toBe(2000 - 400 - 400);
      expect(await core.audit()).toMatchObject({ ok: true });
    } finally {
      await core.close();
    }
  });

  describe('two gateway nodes on one schema', () => {
    it('serialise their transactions on the epoch row: balances never corrupt', async () => {
      const schema = freshSchema();
      const nodes = [openStore(schema), openStore(schema)] as const;
      const ids = ['100-0000001', '100-0000002', '100-0000003'];
      try {
        await Promise.all(nodes.map((n) => n.migrate()));
        await seedLedger(nodes[0], ids, 1000);
        const move = async (tx: LedgerTx, from: string, to: string, amount: number): Promise<void> => {
          await tx.bumpEpoch(); // from here to COMMIT the other node's writers wait
          const a = await tx.getAccounts([from, to]);
          await new Promise((r) => setTimeout(r, Math.random() * 2)); // widen the read-to-write window
          const [f, t] = [a.get(from)!, a.get(to)!];
          await tx.apply({ ...none, transfers: [{ ...fundTransfer(to, amount, f.balance - amount, t.balance + amount), from }], balances: [{ id: from, before: f.balance, after: f.balance - amount }, { id: to, before: t.balance, after: t.balance + amount }] });
        };
        const rounds = 30;
        const work = nodes.flatMap((node, n) => Array.from({ length: rounds }, (_, i) => node.transaction((tx) => move(tx, ids[(i + n) % 3]!, ids[(i + n + 1) % 3]!, 1 + (i % 7)))));
        await Promise.all(work);
        expect((await nodes[1].scanTransfers(0, 1000)).length).toBe(ids.length + 2 * rounds);
        expect((await audit(nodes[1])).checks.filter((c) => !c.ok)).toEqual([]);
        const epoch = await nodes[0].transaction((tx) => tx.bumpEpoch());
        expect(epoch.previous).toBe(1 + 2 * rounds);
      } finally {
        await Promise.all(nodes.map((n) => n.close()));
      }
    });

    it('run two SettlementCores: each answers the other\'s redeliveries byte for byte, the audit passes', async () => {
      const schema = freshSchema();
      const clock = new Clock();
      const open = () => SettlementCore.open({ store: openStore(schema), issuerMasterKey, deviceKey, scheduler: false, clock: clock.read });
      const a = await open();
      const s = await seedStation(a, clock, [{ balance: 1000 }]);
      const b = await open();
      try {
        const w = s.wallets[0]!;
        const reqs = Array.from({ length: 30 }, () => JSON.stringify(makeRequest(s, w, { amount: 10 })));
        const json = (r: Awaited<ReturnType<SettlementCore['settle']>>) => (r.kind === 'result' ? r.json : r.reason);
        const first = await Promise.all(reqs.map((r, i) => (i % 2 ? b : a).settle(s.device, r).then(json)));
        expect(first.every((j) => (JSON.parse(j) as { status: string }).status === 'approved')).toBe(true);
        const again = await Promise.all(reqs.map((r, i) => (i % 2 ? a : b).settle(s.device, r).then(json)));
        expect(again).toEqual(first);
        await Promise.all([a.drain(), b.drain()]);
        expect([await balanceOf(a, w.account), await balanceOf(b, s.merchant)]).toEqual([700, 300]);
        expect(await b.audit()).toMatchObject({ ok: true });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('refuse a write from a stale read, even without the epoch lock', async () => {
      const schema = freshSchema();
      const [a, b] = [openStore(schema), openStore(schema)];
      try {
        await a.migrate();
        await b.migrate();
        await seedLedger(a, ['100-0000001', '100-0000002'], 100);
        let readDone!: () => void;
        const read = new Promise<void>((r) => { readDone = r; });
        let otherCommitted!: () => void;
        const committed = new Promise<void>((r) => { otherCommitted = r; });
        const stale = a.transaction(async (tx) => {
          const seen = (await tx.getAccounts(['100-0000001'])).get('100-0000001')!;
          readDone();
          await committed;
          await tx.apply({ ...none, balances: [{ id: '100-0000001', before: seen.balance, after: seen.balance - 50 }, { id: '100-0000002', before: 100, after: 150 }] });
        });
        await read;
        await b.transaction((tx) => tx.apply({ ...none, balances: [{ id: '100-0000001', before: 100, after: 90 }, { id: '100-0000002', before: 100, after: 110 }] }));
        otherCommitted();
        await expect(stale).rejects.toBeInstanceOf(InvariantError);
        expect([await balanceOf2(a, '100-0000001'), await balanceOf2(a, '100-0000002')]).toEqual([90, 110]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
