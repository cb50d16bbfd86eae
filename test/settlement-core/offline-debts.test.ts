/** Issue 5, the gate's offline policy: an offline debt the core cannot collect blocks the wallet in the same transaction. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SettleRequest } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { Clock, balanceOf, makeRequest, openCore, seedStation, settleOk, tempDir } from './fixtures.ts';
import type { Station, TestWallet } from './fixtures.ts';

let t: ReturnType<typeof tempDir>;
let core: SettlementCore;
let s: Station;
let rich: TestWallet;
let poor: TestWallet;

beforeEach(async () => {
  t = tempDir('tapsettle-offline-');
  const clock = new Clock();
  core = await openCore(`${t.dir}/ledger.db`, { clock: clock.read });
  s = await seedStation(core, clock, [{ balance: 100_000 }, { balance: 100 }]);
  [rich, poor] = s.wallets as [TestWallet, TestWallet];
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

const wallet = (w: TestWallet) => core.store.getWallet(w.walletId);

describe('offline debts', () => {
  it('blocks the wallet of an offline debt declined for lack of funds, records why, and declines every later tap', async () => {
    const debt = makeRequest(s, poor, { amount: 250, offline: true });
    const reply = await settleOk(s, debt);
    expect(reply.result).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
    expect(await wallet(poor)).toMatchObject({ status: 'blocked', blockedBy: { reason: 'insufficient-funds', deviceId: s.device, requestId: debt.requestId, at: s.clock.now } });
    const entry = await core.store.getJournalEntry({ deviceId: s.device, requestId: debt.requestId });
    expect(entry).toMatchObject({ state: 'declined', reason: 'insufficient-funds', walletId: poor.walletId, counter: debt.wallet.counter });
    expect((JSON.parse(entry!.requestJson) as SettleRequest).offline).toBe(true);
    // Online, even a sale the balance would cover is refused now.
    expect((await settleOk(s, makeRequest(s, poor, { amount: 10 }))).result).toMatchObject({ status: 'declined', reason: 'wallet-not-active' });
    // The debt's resend gets the same answer and blocks nothing twice.
    expect((await settleOk(s, debt)).json).toBe(reply.json);
    expect(await balanceOf(core, poor.account)).toBe(100);
    expect((await core.audit()).ok).toBe(true);
    // It stays blocked across a restart; an operator's decision clears the record.
    await core.close();
    core = await openCore(`${t.dir}/ledger.db`, { clock: s.clock.read });
    s.core = core;
    expect((await wallet(poor))?.blockedBy?.requestId).toBe(debt.requestId);
    await core.setWalletStatus(poor.walletId, 'active');
    const unblocked = await wallet(poor);
    expect(unblocked?.status).toBe('active');
    expect(unblocked?.blockedBy).toBeUndefined();
    expect((await settleOk(s, makeRequest(s, poor, { amount: 10 }))).result.status).toBe('approved');
  });

  it('blocks for over-limit and a frozen payer account too', async () => {
    expect((await settleOk(s, makeRequest(s, rich, { amount: 50_001, offline: true }))).result.reason).toBe('over-limit');
    expect((await wallet(rich))?.blockedBy?.reason).toBe('over-limit');
    await core.setAccountStatus(poor.account, 'frozen');
    expect((await settleOk(s, makeRequest(s, poor, { amount: 10, offline: true }))).result.reason).toBe('account-not-active');
    expect((await wallet(poor))?.blockedBy?.reason).toBe('account-not-active');
  });

  it('sees the block within the same batch: a tap right behind the debt is declined', async () => {
    const debt = makeRequest(s, poor, { amount: 500, offline: true });
    const next = makeRequest(s, poor, { amount: 10 });
    const [a, b] = await Promise.all([core.settle(s.device, JSON.stringify(debt)), core.settle(s.device, JSON.stringify(next))]);
    expect(a).toMatchObject({ result: { reason: 'insufficient-funds' } });
    expect(b).toMatchObject({ result: { reason: 'wallet-not-active' } });
    expect(core.stats.batchSizeLast).toBe(2);
    expect((await wallet(poor))?.status).toBe('blocked');
  });

  it('blocks nobody for an approved offline sale, an online decline, or a decline before the cryptogram verified', async () => {
    expect((await settleOk(s, makeRequest(s, rich, { amount: 300, offline: true }))).result.status).toBe('approved');
    expect((await settleOk(s, makeRequest(s, poor, { amount: 300 }))).result.reason).toBe('insufficient-funds');
    const forged = makeRequest(s, poor, { amount: 300, offline: true });
    forged.wallet.cryptogram = '0'.repeat(64);
    expect((await settleOk(s, forged)).result.reason).toBe('bad-cryptogram');
    // A replayed authorization under a new request id: the counter is spent.
    const used = makeRequest(s, rich, { amount: 1 });
    await settleOk(s, used);
    const replay = { ...used, requestId: makeRequest(s, rich).requestId, offline: true as const, purchase: { ...used.purchase } };
    expect((await settleOk(s, replay)).result.reason).toBe('counter-reused');
    expect((await wallet(rich))?.status).toBe('active');
    expect((await wallet(poor))?.status).toBe('active');
  });
});
