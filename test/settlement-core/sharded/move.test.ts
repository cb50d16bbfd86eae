/**
 * Moving an account that has data to another server (move.ts, an
 * operator's command): the balance moves as a leg between servers, the old
 * file stays as history, the statement merges both, old journal entries and
 * counters stay found, pending settlements finish toward the new file, and
 * a move cut by a crash is finished on start. The audit passes after each.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import { markHot, moveAccount } from '../../../settlement-core/store/sharded/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, balanceOf, makeRequest, settleOk, tempDir } from '../fixtures.ts';
import type { Station, TestWallet } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

let t: ReturnType<typeof tempDir>;
let clock: Clock;
let store: ShardedLedgerStore;
let core: SettlementCore;
let s: Station;
/** On server 1 (branch 100). */
let w: TestWallet;
const faults: { beforeCredits?: () => void } = {};

async function open(): Promise<void> {
  store = openSqliteSharded(t.dir, 3, { faults: { beforeCredits: () => faults.beforeCredits?.() } });
  core = await openShardedCore(store, { clock: clock.read });
  if (s) s = { ...s, core };
}
async function restart(): Promise<void> {
  delete faults.beforeCredits;
  await core.close().catch(() => undefined);
  await open();
}
async function auditOk(): Promise<ShardedAuditReport> {
  const report = (await core.audit()) as ShardedAuditReport;
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  return report;
}
const move = (id: string, to: number) => moveAccount(store, id, to, clock.read);
const fileBalances = async (id: string) => Promise.all(store.servers.map(async (x) => (await x.getAccount(id))?.balance ?? null));

beforeEach(async () => {
  t = tempDir('tapsettle-sharded-move-');
  clock = new Clock();
  await open();
  s = await seedShardedStation(core, clock, [5_000, 5_000]);
  w = s.wallets[1]!;
  expect(store.directory.serverFor(w.account)).toBe(1);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

describe('moving an account between servers', () => {
  it('moves the balance, keeps the history readable and the old answers and counters, and settles on the new server from then on', async () => {
    clock.advance(10);
    const first = makeRequest(s, w, { amount: 300 });
    const before = await settleOk(s, first);
    await core.drain();
    clock.advance(10);
    expect(await move(w.account, 2)).toEqual({ account: w.account, from: 1, to: 2, amount: 4_700 });
    expect(store.directory.serverFor(w.account)).toBe(2);
    expect(store.directory.formerServers(w.account)).toEqual([1]);
    expect(await fileBalances(w.account)).toEqual([null, 0, 4_700]);
    expect(await balanceOf(core, w.account)).toBe(4_700);

    clock.advance(10);
    const after = makeRequest(s, w, { amount: 200 });
    expect((await settleOk(s, after)).result.status).toBe('approved');
    await core.drain();
    expect(await store.servers[2]!.getJournalEntry({ deviceId: s.device, requestId: after.requestId })).not.toBeNull();
    expect(await fileBalances(w.account)).toEqual([null, 0, 4_500]);
    // History across both files, newest first, each line's balance the account's.
    const lines = await core.store.statement(w.account, { limit: 10 });
    expect(lines.map((l) => [l.kind, l.amount, l.balanceAfter])).toEqual([
      ['withdraw', -200, 4_500], ['deposit', 4_700, 4_700], ['deposit', -4_700, 0], ['withdraw', -300, 4_700], ['fund', 5_000, 5_000],
    ]);
    expect((await core.store.statement(w.account, { limit: 2, beforeTransferId: lines[1]!.transferId })).map((l) => l.amount)).toEqual([-4_700, -300]);
    // The answer given before the move is replayed byte for byte; its counter is still consumed.
    expect((await settleOk(s, first)).json).toBe(before.json);
    expect((await settleOk(s, makeRequest(s, w, { amount: 5, counter: 1 }))).result).toMatchObject({ status: 'declined', reason: 'counter-reused' });
    expect(await core.store.getAccount(w.account)).toMatchObject({ balance: 4_500, kind: 'customer' });
    expect((await core.store.listAccounts({ kind: 'customer', limit: 10 })).find((a) => a.id === w.account)?.balance).toBe(4_500);
    await auditOk();
  });

  it('finishes settlements pending on the old server toward the new file: a reversal, and a cooling-off deposit to a moved merchant', async () => {
    const failed = await settleOk(s, makeRequest(s, w, { amount: 400, outcomeDeadlineSec: 30 }));
    const cooling = await settleOk(s, makeRequest(s, s.wallets[0]!, { amount: 250, restrictions: { coolingOffSec: 60 } }));
    clock.advance(10);
    await move(w.account, 0);
    await move(s.merchant, 1);
    await core.outcome(s.device, JSON.stringify({ v: 1, type: 'outcome', requestId: '01890000-0000-7000-8000-000000000002', sentAt: clock.now, deviceId: s.device, settleRequestId: failed.result.requestId, outcome: 'vend-failed' }));
    clock.advance(61_000);
    await core.runDue();
    await core.drain();
    expect(await fileBalances(w.account)).toEqual([5_000, 0, null]);
    expect(await fileBalances(s.merchant)).toEqual([null, 250, 0]);
    expect(await balanceOf(core, s.merchant)).toBe(250);
    expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: cooling.result.requestId }))?.state).toBe('deposited');
    expect((await auditOk()).inFlight.count).toBe(0);
  });

  it('finishes a move cut by a crash: after the balance\'s send, and after the directory changed but before anything moved', async () => {
    faults.beforeCredits = () => {
      delete faults.beforeCredits;
      throw new Error('crash: the move\'s credit never delivered');
    };
    await expect(move(w.account, 2)).rejects.toThrow('crash');
    expect(await fileBalances(w.account)).toEqual([null, 0, 0]);
    const cut = await store.audit();
    expect(cut.inFlight.count).toBe(1);
    expect(cut.checks.filter((c) => !c.ok)).toEqual([]);
    await restart();
    expect(await fileBalances(w.account)).toEqual([null, 0, 5_000]);
    await auditOk();

    // The directory changed and the process died before the new file or any money: the start makes both.
    const other = s.wallets[0]!;
    store.directory.moveAccount(other.account, 1);
    await restart();
    expect(await fileBalances(other.account)).toEqual([0, 5_000, null]);
    expect(await balanceOf(core, other.account)).toBe(5_000);
    expect((await settleOk(s, makeRequest(s, other, { amount: 10 }))).result.status).toBe('approved');
    await auditOk();
  });

  it('moves a debit balance (a credit line) and moves back to a former server', async () => {
    const id = (await core.openAccount({ kind: 'customer', branch: 150, currency: 'EUR', name: 'On credit', floor: -1_000 })).id;
    const { wallet, walletKey } = await core.enrollWallet(id);
    const debtor: TestWallet = { walletId: wallet.id, walletKey, account: id, counter: 0 };
    expect((await settleOk(s, makeRequest(s, debtor, { amount: 600 }))).result.status).toBe('approved');
    await core.drain();
    clock.advance(10);
    expect((await move(id, 2)).amount).toBe(-600);
    expect(await fileBalances(id)).toEqual([null, 0, -600]);
    clock.advance(10);
    expect((await move(id, 1)).amount).toBe(-600);
    expect(store.directory.formerServers(id)).toEqual([2]);
    expect(await fileBalances(id)).toEqual([null, -600, 0]);
    expect((await core.store.statement(id, { limit: 1 }))[0]!.balanceAfter).toBe(-600);
    expect(await move(id, 1)).toEqual({ account: id, from: 1, to: 1, amount: 0 });
    await auditOk();
  });

  it('the global audit catches money left in a former file', async () => {
    await move(w.account, 2);
    const funding = (await store.servers[1]!.getAccount('000-0000001'))!;
    await store.servers[1]!.transaction((tx) => tx.apply({
      journalInserts: [], journalUpdates: [], balances: [{ id: funding.id, before: funding.balance, after: funding.balance - 1 }, { id: w.account, before: 0, after: 1 }],
      transfers: [{ kind: 'fund', from: funding.id, to: w.account, amount: 1, currency: 'EUR', fromBalanceAfter: funding.balance - 1, toBalanceAfter: 1, journalDeviceId: null, journalRequestId: null, reference: 'stray', at: clock.now }],
    }));
    const placement = (await store.audit()).checks.find((c) => c.name === 'placement')!;
    expect(placement.problems).toEqual([`${w.account}: its former file on server 1 holds 1, moved accounts keep nothing there`]);
  });

  it('refuses what cannot move, with coded errors, and changes nothing', async () => {
    await markHot(store, s.merchant);
    await expect(move(s.merchant, 0)).rejects.toMatchObject({ code: 'TS_ERR_ACCOUNT_MOVE' });
    await expect(move('000-0000002', 1)).rejects.toMatchObject({ code: 'TS_ERR_ACCOUNT_MOVE' });
    await expect(move('150-0000099', 2)).rejects.toMatchObject({ code: 'TS_ERR_ACCOUNT_MOVE' });
    await expect(move('not an id', 2)).rejects.toMatchObject({ code: 'TS_ERR_ACCOUNT_MOVE' });
    for (const to of [3, -1, 1.5]) await expect(move(w.account, to)).rejects.toMatchObject({ code: 'TS_ERR_DIRECTORY_UNKNOWN_SERVER' });
    expect(store.directory.serverFor(w.account)).toBe(1);
    expect(store.directory.movedAccounts).toEqual([]);
    await auditOk();
  });
});
