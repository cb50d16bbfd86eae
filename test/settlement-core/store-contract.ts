/**
 * The LedgerStore contract: every store implementation (SQLite now,
 * PostgreSQL and sharded later) runs this one suite.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../protocol/index.ts';
import type { Account, EmoneyRequestRecord, EmoneyTokenRecord, IssuedTicket, JournalEntry, LedgerStore, Transfer } from '../../settlement-core/index.ts';
import { InvariantError } from '../../settlement-core/index.ts';
import { tempDir } from './fixtures.ts';

export interface StoreHandle {
  store: LedgerStore;
  /** Closes and opens the same database again. */
  reopen(): Promise<LedgerStore>;
  cleanup(): Promise<void>;
}

/** A store on one file in a fresh temporary directory, reopened on the same file (SQLite, SQLite in a worker thread). */
export function fileStoreHandle(prefix: string, open: (path: string) => LedgerStore): Promise<StoreHandle> {
  const t = tempDir(prefix);
  const path = join(t.dir, 'ledger.db');
  let store = open(path);
  return Promise.resolve({
    get store() {
      return store;
    },
    async reopen() {
      await store.close();
      store = open(path);
      await store.migrate();
      return store;
    },
    async cleanup() {
      await store.close();
      t.cleanup();
    },
  });
}

const account = (id: string, kind: Account['kind'], balance = 0, floor = 0): Account => ({
  id, kind, currency: 'EUR', name: id, balance, floor, status: 'active', attributes: {}, createdAt: 1,
});

const entry = (requestId: string, o: Partial<JournalEntry> = {}): JournalEntry => ({
  seq: null, deviceId: 'dev-1', requestId, fingerprint: 'f'.repeat(64), state: 'withdrawn', reason: null, walletId: 'w-1', counter: null,
  payer: '100-0000001', merchant: '500-0000001', article: 'a', amount: 10, currency: 'EUR', depositNotBefore: null,
  awaitingOutcome: false, dueAt: null, outcome: null, outcomeRequestId: null, requestJson: '{}', resultJson: '{"r":1}', receivedAt: 1, updatedAt: 1, ...o,
});

const transfer = (kind: Transfer['kind'], from: string, to: string, amount: number, fromAfter: number, toAfter: number, at = 1, reference: string | null = null): Omit<Transfer, 'id'> => ({
  kind, from, to, amount, currency: 'EUR', fromBalanceAfter: fromAfter, toBalanceAfter: toAfter, journalDeviceId: null, journalRequestId: null, reference, at,
});

const issued = (walletId: string, requestId: string, at: number): IssuedTicket => ({
  ticket: { ticketId: uuidv7(at), walletId, product: 'ride', validFrom: at, validUntil: at + 60_000, uses: 1, keyId: 'issuer-1', sig: 'A'.repeat(86) },
  deviceId: 'dev-1',
  requestId,
});

const float = '000-0000004';

/** A token record as the core mints it (the store checks its shape, not its signature). */
const minted = (holder: string, amount: number, issueRequest: string, at: number): EmoneyTokenRecord => ({
  token: { serial: uuidv7(at), amount: { minor: amount, currency: 'EUR' }, holder, issuedAt: at, float, keyId: 'issuer-1', sig: 'B'.repeat(86) },
  issueRequest, spentAt: null, depositRequest: null,
});

const emoneyRequest = (requestId: string, kind: EmoneyRequestRecord['kind'], walletId: string, at: number): EmoneyRequestRecord => ({
  requestId, kind, walletId, fingerprint: 'e'.repeat(64), answerJson: JSON.stringify({ requestId, kind }), at,
});

async function seed(store: LedgerStore): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.bumpEpoch();
    await tx.insertAccount(account('000-0000001', 'external-funding', 0, -1e12));
    await tx.insertAccount(account('000-0000002', 'clearing'));
    await tx.insertAccount(account('100-0000001', 'customer'));
    await tx.insertAccount(account('100-0000002', 'customer'));
    await tx.insertAccount(account('500-0000001', 'merchant'));
  });
}

export function ledgerStoreContract(name: string, open: () => Promise<StoreHandle>): void {
  describe(`LedgerStore contract: ${name}`, () => {
    const withStore = (fn: (h: StoreHandle) => Promise<void>) => async () => {
      const h = await open();
      try {
        await h.store.migrate();
        await seed(h.store);
        await fn(h);
      } finally {
        await h.cleanup();
      }
    };

    it('migrates idempotently and keeps data across a reopen', withStore(async (h) => {
      await h.store.migrate();
      const again = await h.reopen();
      await again.migrate();
      expect((await again.getAccount('100-0000001'))?.kind).toBe('customer');
      expect(await again.getAccount('100-0000009')).toBeNull();
    }));

    it('commits a unit of work as a whole, or nothing of it', withStore(async ({ store }) => {
      await expect(store.transaction(async (tx) => {
        await tx.apply({ journalInserts: [], journalUpdates: [], transfers: [transfer('fund', '000-0000001', '100-0000001', 50, -50, 50)], balances: [{ id: '000-0000001', before: 0, after: -50 }, { id: '100-0000001', before: 0, after: 50 }] });
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect((await store.getAccount('100-0000001'))?.balance).toBe(0);
      expect(await store.scanTransfers(0, 10)).toEqual([]);
      await store.transaction((tx) => tx.apply({ journalInserts: [], journalUpdates: [], transfers: [transfer('fund', '000-0000001', '100-0000001', 50, -50, 50, 1, 'ref-1')], balances: [{ id: '000-0000001', before: 0, after: -50 }, { id: '100-0000001', before: 0, after: 50 }] }));
      expect((await store.getAccount('100-0000001'))?.balance).toBe(50);
      const [t] = await store.scanTransfers(0, 10);
      expect(t).toMatchObject({ kind: 'fund', amount: 50, fromBalanceAfter: -50, toBalanceAfter: 50, reference: 'ref-1' });
      expect(await store.transaction((tx) => tx.transferByReference('ref-1'))).toMatchObject({ id: t!.id });
    }));

    it('runs units of work one at a time', withStore(async ({ store }) => {
      const order: string[] = [];
      const slow = store.transaction(async (tx) => {
        order.push('a-start');
        await tx.getAccounts(['100-0000001']);
        await new Promise((r) => setTimeout(r, 20));
        order.push('a-end');
      });
      const fast = store.transaction(async () => {
        order.push('b');
        await Promise.resolve();
      });
      await Promise.all([slow, fast]);
      expect(order).toEqual(['a-start', 'a-end', 'b']);
    }));

    it('refuses a balance update that does not start from the balance on disk, and a balance below its floor', withStore(async ({ store }) => {
      await expect(store.transaction((tx) => tx.apply({ journalInserts: [], journalUpdates: [], transfers: [], balances: [{ id: '100-0000001', before: 7, after: 8 }] }))).rejects.toBeInstanceOf(InvariantError);
      await expect(store.transaction((tx) => tx.apply({ journalInserts: [], journalUpdates: [], transfers: [], balances: [{ id: '100-0000001', before: 0, after: -1 }] }))).rejects.toThrow();
      expect((await store.getAccount('100-0000001'))?.balance).toBe(0);
    }));

    it('keys the journal on (device, request), moves states only from the state on disk', withStore(async ({ store }) => {
      await store.transaction((tx) => tx.apply({ journalInserts: [entry('r-1', { counter: 1, dueAt: 100 })], journalUpdates: [], transfers: [], balances: [] }));
      await expect(store.transaction((tx) => tx.apply({ journalInserts: [entry('r-1')], journalUpdates: [], transfers: [], balances: [] }))).rejects.toThrow();
      const key = { deviceId: 'dev-1', requestId: 'r-1' };
      const fields = { dueAt: null, awaitingOutcome: false, outcome: null, outcomeRequestId: null, depositNotBefore: null, updatedAt: 2 };
      await expect(store.transaction((tx) => tx.apply({ journalInserts: [], journalUpdates: [{ key, from: 'deferred', to: 'deposited', fields }], transfers: [], balances: [] }))).rejects.toBeInstanceOf(InvariantError);
      await store.transaction((tx) => tx.apply({ journalInserts: [], journalUpdates: [{ key, from: 'withdrawn', to: 'deposited', fields }], transfers: [], balances: [] }));
      const stored = await store.getJournalEntry(key);
      expect(stored).toMatchObject({ state: 'deposited', dueAt: null, updatedAt: 2, resultJson: '{"r":1}', counter: 1 });
      expect(stored?.seq).toBeGreaterThan(0);
      const loaded = await store.transaction((tx) => tx.getJournalEntries([key, { deviceId: 'dev-1', requestId: 'nope' }]));
      expect(loaded.size).toBe(1);
    }));

    it('knows which wallet counters are consumed', withStore(async ({ store }) => {
      await store.transaction((tx) => tx.apply({ journalInserts: [entry('r-1', { counter: 5 }), entry('r-2', { counter: null, state: 'declined' })], journalUpdates: [], transfers: [], balances: [] }));
      const used = await store.transaction((tx) => tx.countersUsed([{ walletId: 'w-1', counter: 5 }, { walletId: 'w-1', counter: 6 }, { walletId: 'w-2', counter: 5 }]));
      expect([...used]).toEqual(['w-1:5']);
      await expect(store.transaction((tx) => tx.apply({ journalInserts: [entry('r-3', { counter: 5 })], journalUpdates: [], transfers: [], balances: [] }))).rejects.toThrow();
    }));

    it('finds due entries oldest first, and the next due time', withStore(async ({ store }) => {
      await store.transaction((tx) => tx.apply({ journalInserts: [entry('r-1', { dueAt: 300 }), entry('r-2', { dueAt: 100 }), entry('r-3', { dueAt: null, state: 'declined' })], journalUpdates: [], transfers: [], balances: [] }));
      expect(await store.nextDueAt()).toBe(100);
      expect(await store.dueEntries(200, 10)).toEqual([{ deviceId: 'dev-1', requestId: 'r-2' }]);
      expect((await store.dueEntries(1000, 1)).length).toBe(1);
      expect(await store.countJournalByState()).toEqual({ declined: 1, withdrawn: 2 });
      const page1 = await store.listJournal({ limit: 2 });
      expect(page1.map((e) => e.requestId)).toEqual(['r-1', 'r-2']);
      expect((await store.listJournal({ limit: 2, afterSeq: page1[1]!.seq! })).map((e) => e.requestId)).toEqual(['r-3']);
      expect((await store.listJournal({ limit: 10, state: 'declined' })).map((e) => e.requestId)).toEqual(['r-3']);
      const scanned = await store.scanJournal(null, 2);
      expect((await store.scanJournal(scanned[1]!, 10)).length).toBe(1);
    }));

    it('pages a statement newest first, both directions, within a time range', withStore(async ({ store }) => {
      await store.transaction((tx) => tx.apply({
        journalInserts: [], journalUpdates: [], balances: [{ id: '000-0000001', before: 0, after: -100 }, { id: '100-0000001', before: 0, after: 70 }, { id: '100-0000002', before: 0, after: 30 }],
        transfers: [transfer('fund', '000-0000001', '100-0000001', 100, -100, 100, 10), transfer('fund', '100-0000001', '100-0000002', 30, 70, 30, 20)],
      }));
      const lines = await store.statement('100-0000001', { limit: 10 });
      expect(lines.map((l) => [l.kind, l.amount, l.balanceAfter, l.counterparty])).toEqual([['fund', -30, 70, '100-0000002'], ['fund', 100, 100, '000-0000001']]);
      expect((await store.statement('100-0000001', { limit: 1, beforeTransferId: lines[0]!.transferId })).map((l) => l.amount)).toEqual([100]);
      expect((await store.statement('100-0000001', { limit: 10, fromMs: 15 })).map((l) => l.amount)).toEqual([-30]);
      expect((await store.statement('100-0000001', { limit: 10, toMs: 15 })).map((l) => l.amount)).toEqual([100]);
    }));

    it('lists and finds accounts, devices and wallets', withStore(async ({ store }) => {
      expect((await store.listAccounts({ limit: 2 })).map((a) => a.id)).toEqual(['000-0000001', '000-0000002']);
      expect((await store.listAccounts({ limit: 10, afterId: '100-0000002' })).map((a) => a.id)).toEqual(['500-0000001']);
      expect((await store.listAccounts({ limit: 10, kind: 'customer' })).length).toBe(2);
      await store.transaction(async (tx) => {
        expect((await tx.findAccounts('clearing', 'EUR')).map((a) => a.id)).toEqual(['000-0000002']);
        expect(await tx.maxAccountNumber(100)).toBe(2);
        expect(await tx.maxAccountNumber(42)).toBe(-1);
        await tx.upsertDevice({ id: 'dev-1', kind: 'gate', merchant: '500-0000001', status: 'active', createdAt: 1 });
        await tx.upsertDevice({ id: 'dev-1', kind: 'gate', merchant: '500-0000001', status: 'revoked', createdAt: 1 });
        await tx.insertWallet({ id: 'w-1', account: '100-0000001', status: 'active', requestCounter: -1, createdAt: 1 });
        expect(await tx.advanceWalletRequestCounter('w-1', 5)).toBe(true);
        expect(await tx.advanceWalletRequestCounter('w-1', 5)).toBe(false);
        expect(await tx.advanceWalletRequestCounter('w-1', 4)).toBe(false);
        expect(await tx.advanceWalletRequestCounter('w-1', 6)).toBe(true);
        await tx.setWalletStatus('w-1', 'blocked');
        await tx.setAttributes('100-0000001', { ageBand: '18-20' });
        await tx.setAccountStatus('100-0000002', 'frozen');
      });
      expect(await store.getDevice('dev-1')).toMatchObject({ status: 'revoked' });
      expect(await store.listDevices()).toHaveLength(1);
      expect(await store.getWallet('w-1')).toMatchObject({ status: 'blocked', account: '100-0000001', requestCounter: 6 });
      expect(await store.getAccount('100-0000001')).toMatchObject({ attributes: { ageBand: '18-20' } });
      expect(await store.getAccount('100-0000002')).toMatchObject({ status: 'frozen' });
      await expect(store.transaction((tx) => tx.insertAccount(account('100-0000001', 'customer')))).rejects.toThrow();
    }));

    it('keeps minted tickets with their batch, per wallet newest first, each ticket id once', withStore(async (h) => {
      const store = h.store;
      const [wa, wb] = [uuidv7(1), uuidv7(2)];
      const none = { journalInserts: [], journalUpdates: [], transfers: [], balances: [] };
      const a1 = issued(wa, 'r-1', 1000);
      const a2 = issued(wa, 'r-2', 2000);
      const b1 = issued(wb, 'r-3', 1500);
      await expect(store.transaction(async (tx) => {
        await tx.apply({ ...none, tickets: [issued(wa, 'r-0', 500)] });
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await store.walletTickets(wa, 10)).toEqual([]);
      await store.transaction((tx) => tx.apply({ ...none, tickets: [a1, b1] }));
      await store.transaction((tx) => tx.apply({ ...none, tickets: [a2] }));
      expect(await store.walletTickets(wa, 10)).toEqual([a2, a1]);
      expect(await store.walletTickets(wa, 1)).toEqual([a2]);
      expect(await store.walletTickets(wb, 10)).toEqual([b1]);
      expect(await store.walletTickets(uuidv7(3), 10)).toEqual([]);
      await expect(store.transaction((tx) => tx.apply({ ...none, tickets: [a1] }))).rejects.toThrow();
      expect(await (await h.reopen()).walletTickets(wa, 10)).toEqual([a2, a1]);
    }));

    it('blocks an active wallet with the offline debt that caused it, refuses to block one that is not active, and clears the record on an operator change', withStore(async ({ store }) => {
      const none = { journalInserts: [], journalUpdates: [], transfers: [], balances: [] };
      await store.transaction(async (tx) => {
        await tx.insertWallet({ id: 'w-1', account: '100-0000001', status: 'active', requestCounter: -1, createdAt: 1 });
        await tx.insertWallet({ id: 'w-2', account: '100-0000002', status: 'active', requestCounter: -1, createdAt: 1 });
      });
      const block = { reason: 'insufficient-funds' as const, deviceId: 'gate-1', requestId: 'r-9', at: 42 };
      await store.transaction((tx) => tx.apply({ ...none, walletBlocks: [{ walletId: 'w-1', ...block }] }));
      expect(await store.getWallet('w-1')).toEqual({ id: 'w-1', account: '100-0000001', status: 'blocked', requestCounter: -1, createdAt: 1, blockedBy: block });
      expect((await store.transaction((tx) => tx.getWallets(['w-1']))).get('w-1')?.blockedBy).toEqual(block);
      expect((await store.getWallet('w-2'))?.blockedBy).toBeUndefined();
      await expect(store.transaction((tx) => tx.apply({ ...none, walletBlocks: [{ walletId: 'w-2', ...block }, { walletId: 'w-1', ...block, requestId: 'r-10' }] }))).rejects.toBeInstanceOf(InvariantError);
      expect((await store.getWallet('w-2'))?.status).toBe('active');
      expect((await store.getWallet('w-1'))?.blockedBy?.requestId).toBe('r-9');
      await store.transaction((tx) => tx.setWalletStatus('w-1', 'active'));
      expect(await store.getWallet('w-1')).toEqual({ id: 'w-1', account: '100-0000001', status: 'active', requestCounter: -1, createdAt: 1 });
    }));

    it('keeps e-money with its movement: the request, the token minted, the inbox and outstanding; a spend and its payout; each serial, spend and request once', withStore(async (h) => {
      const none = { journalInserts: [], journalUpdates: [], transfers: [], balances: [] };
      const [holder, payerWallet] = [uuidv7(10), uuidv7(11)];
      await h.store.transaction(async (tx) => {
        await tx.insertAccount(account(float, 'issuer-float'));
        await tx.apply({ ...none, transfers: [transfer('fund', '000-0000001', '100-0000001', 100, -100, 100)], balances: [{ id: '000-0000001', before: 0, after: -100 }, { id: '100-0000001', before: 0, after: 100 }] });
      });
      // Issuance: payer → float, the request and the token, in one unit of work — or nothing of it.
      const issueId = uuidv7(20);
      const t1 = minted(holder, 30, issueId, 20);
      const issue = {
        ...none, transfers: [transfer('emoney-issue', '100-0000001', float, 30, 70, 30, 20, `emoney-issue:${issueId}`)],
        balances: [{ id: '100-0000001', before: 100, after: 70 }, { id: float, before: 0, after: 30 }],
        emoney: { requests: [emoneyRequest(issueId, 'issue', payerWallet, 20)], mints: [t1], spends: [] },
      };
      await expect(h.store.transaction(async (tx) => {
        await tx.apply(issue);
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await h.store.emoneyInbox(holder, { limit: 10 })).toEqual([]);
      expect(await h.store.transaction((tx) => tx.getEmoneyRequest(issueId))).toBeNull();
      await h.store.transaction((tx) => tx.apply(issue));
      expect(await h.store.transaction((tx) => tx.getEmoneyRequest(issueId))).toEqual(emoneyRequest(issueId, 'issue', payerWallet, 20));
      const found = await h.store.transaction((tx) => tx.getEmoneyTokens([t1.token.serial, uuidv7(21)]));
      expect([...found.values()]).toEqual([t1]);
      const t2 = minted(holder, 5, uuidv7(22), 22);
      await h.store.transaction((tx) => tx.apply({ ...none, emoney: { requests: [], mints: [t2], spends: [] } }));
      expect(await h.store.emoneyInbox(holder, { limit: 10 })).toEqual([t1.token, t2.token]);
      expect(await h.store.emoneyInbox(holder, { limit: 1, afterSerial: t1.token.serial })).toEqual([t2.token]);
      expect(await h.store.emoneyInbox(payerWallet, { limit: 10 })).toEqual([]);
      expect(await h.store.emoneyOutstanding()).toEqual(new Map([[float, { value: 35, count: 2 }]]));
      expect((await h.store.getAccount(float))?.balance).toBe(30);
      expect((await h.store.statement('100-0000001', { limit: 1 }))[0]).toMatchObject({ kind: 'emoney-issue', amount: -30, balanceAfter: 70, counterparty: float });

      // Deposit: the spend, float → holder's account, the request, together.
      const depositId = uuidv7(30);
      const spend = { serial: t1.token.serial, depositRequest: depositId, spentAt: 30 };
      await h.store.transaction((tx) => tx.apply({
        ...none, transfers: [transfer('emoney-deposit', float, '100-0000002', 30, 0, 30, 30, `emoney-deposit:${depositId}`)],
        balances: [{ id: float, before: 30, after: 0 }, { id: '100-0000002', before: 0, after: 30 }],
        emoney: { requests: [emoneyRequest(depositId, 'deposit', holder, 30)], mints: [], spends: [spend] },
      }));
      expect(await h.store.emoneyInbox(holder, { limit: 10 })).toEqual([t2.token]);
      expect(await h.store.emoneyOutstanding()).toEqual(new Map([[float, { value: 5, count: 1 }]]));
      expect((await h.store.transaction((tx) => tx.getEmoneyTokens([t1.token.serial]))).get(t1.token.serial)).toEqual({ ...t1, spentAt: 30, depositRequest: depositId });
      expect((await h.store.statement('100-0000002', { limit: 1 }))[0]).toMatchObject({ kind: 'emoney-deposit', amount: 30, balanceAfter: 30, counterparty: float });

      // Each token is spent once, each serial minted once, each request id kept once: refused, nothing written.
      await expect(h.store.transaction((tx) => tx.apply({ ...none, emoney: { requests: [], mints: [], spends: [{ ...spend, depositRequest: uuidv7(31) }] } }))).rejects.toBeInstanceOf(InvariantError);
      await expect(h.store.transaction((tx) => tx.apply({ ...none, emoney: { requests: [], mints: [t1], spends: [] } }))).rejects.toThrow();
      await expect(h.store.transaction((tx) => tx.apply({ ...none, emoney: { requests: [emoneyRequest(issueId, 'deposit', holder, 32)], mints: [], spends: [] } }))).rejects.toThrow();
      const reopened = await h.reopen();
      expect(await reopened.emoneyInbox(holder, { limit: 10 })).toEqual([t2.token]);
      expect(await reopened.transaction((tx) => tx.getEmoneyRequest(depositId))).toEqual(emoneyRequest(depositId, 'deposit', holder, 30));
      expect((await reopened.getAccount('100-0000001'))?.balance).toBe(70);
    }));

    it('advances the write epoch by one per transaction, durably', withStore(async (h) => {
      const a = await h.store.transaction((tx) => tx.bumpEpoch());
      const b = await h.store.transaction((tx) => tx.bumpEpoch());
      expect(b).toEqual({ previous: a.current, current: a.current + 1 });
      const reopened = await h.reopen();
      expect((await reopened.transaction((tx) => tx.bumpEpoch())).previous).toBe(b.current);
    }));

    it('refuses work once closed', withStore(async (h) => {
      const store = await h.reopen();
      await store.close();
      await expect(store.transaction(() => Promise.resolve())).rejects.toMatchObject({ code: 'TS_ERR_CLOSED' });
    }));
  });
}
