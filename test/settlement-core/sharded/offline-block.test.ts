/**
 * An offline debt declined on the sharded store (issue 5): the wallets live
 * on server 0, so the declined entry that blocks a wallet is journalled on
 * server 0 too, and the decline and the block commit together — a crash
 * between servers' commits leaves both or neither, never a decline with its
 * wallet still active. The payer's counter is still found consumed.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, makeRequest, settleOk, tempDir } from '../fixtures.ts';
import type { Station, TestWallet } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

let t: ReturnType<typeof tempDir>;
let clock: Clock;
let store: ShardedLedgerStore;
let core: SettlementCore;
let s: Station;
/** Both on server 1 (branch 100): one who cannot pay, one who can. */
let poor: TestWallet;
let rich: TestWallet;
const faults: { afterServerCommit?: (server: number) => void } = {};

async function open(): Promise<void> {
  store = openSqliteSharded(t.dir, 3, { faults: { afterServerCommit: (x) => faults.afterServerCommit?.(x) } });
  core = await openShardedCore(store, { clock: clock.read });
  if (s) s = { ...s, core };
}

beforeEach(async () => {
  t = tempDir('tapsettle-sharded-offline-');
  clock = new Clock();
  await open();
  s = await seedShardedStation(core, clock, [100_000, 100, 100_000, 100_000, 100_000]);
  [poor, rich] = [s.wallets[1]!, s.wallets[4]!];
  expect([poor, rich].map((w) => store.directory.serverFor(w.account))).toEqual([1, 1]);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

const debtKey = (requestId: string) => ({ deviceId: s.device, requestId });
const onServers = async (requestId: string) => (await Promise.all(store.servers.map((x) => x.getJournalEntry(debtKey(requestId))))).flatMap((e, i) => (e ? [i] : []));

async function auditOk(): Promise<void> {
  const report = (await core.audit()) as ShardedAuditReport;
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
}

it('journals the declined debt on server 0 with the wallet\'s block; the consumed counter is still refused', async () => {
  const debt = makeRequest(s, poor, { amount: 250, offline: true });
  const reply = await settleOk(s, debt);
  expect(reply.result).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
  expect(await onServers(debt.requestId)).toEqual([0]);
  expect(await store.getWallet(poor.walletId)).toMatchObject({ status: 'blocked', blockedBy: { reason: 'insufficient-funds', requestId: debt.requestId } });
  expect((await settleOk(s, debt)).json).toBe(reply.json);
  // An operator settles the debt another way and unblocks; a replay of the debt's counter under a new id is still a replay.
  await core.setWalletStatus(poor.walletId, 'active');
  const replay = makeRequest(s, poor, { amount: 10, counter: debt.wallet.counter });
  expect((await settleOk(s, replay)).result).toMatchObject({ status: 'declined', reason: 'counter-reused' });
  expect((await settleOk(s, makeRequest(s, poor, { amount: 10 }))).result.status).toBe('approved');
  await auditOk();
});

it('a crash between the servers\' commits leaves the decline and the block both undone, and the resend makes both', async () => {
  const debt = makeRequest(s, poor, { amount: 250, offline: true });
  const tap = makeRequest(s, rich, { amount: 40 });
  let crashed = false;
  faults.afterServerCommit = (server) => {
    if (server === 1 && !crashed) {
      crashed = true;
      throw new Error('crash: server 1 committed, server 0 did not');
    }
  };
  // One batch: the tap's withdrawal commits on server 1, the debt's decline and block on server 0.
  const first = await Promise.allSettled([tap, debt].map((r) => core.settle(r.deviceId, JSON.stringify(r))));
  expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect(crashed).toBe(true);
  expect(await onServers(debt.requestId)).toEqual([]);
  expect((await store.getWallet(poor.walletId))?.status).toBe('active');
  expect(await onServers(tap.requestId)).toEqual([1]); // what server 1 committed stands

  delete faults.afterServerCommit;
  await core.close();
  await open();
  const tapAgain = await settleOk(s, tap);
  expect(tapAgain.result.status).toBe('approved');
  expect(tapAgain.replay).toBe(true);
  expect((await settleOk(s, debt)).result).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
  expect(await onServers(debt.requestId)).toEqual([0]);
  expect(await store.getWallet(poor.walletId)).toMatchObject({ status: 'blocked', blockedBy: { requestId: debt.requestId } });
  await core.drain();
  await auditOk();
});

it('a crash right after server 0 committed keeps both', async () => {
  const debt = makeRequest(s, poor, { amount: 250, offline: true });
  faults.afterServerCommit = (server) => {
    if (server === 0) {
      delete faults.afterServerCommit;
      throw new Error('crash: after server 0 committed');
    }
  };
  await expect(core.settle(debt.deviceId, JSON.stringify(debt))).rejects.toThrow('crash');
  await core.close();
  await open();
  expect(await onServers(debt.requestId)).toEqual([0]);
  expect((await store.getWallet(poor.walletId))?.blockedBy?.requestId).toBe(debt.requestId);
  expect((await settleOk(s, debt)).result).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
  await auditOk();
});
