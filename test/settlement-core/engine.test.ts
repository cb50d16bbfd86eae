import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { uuidv7, verifyResultTag, walletRequestMac } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { Clock, balanceOf, deviceKey, makeRequest, openCore, seedStation, settleOk, tempDir } from './fixtures.ts';
import type { Station } from './fixtures.ts';

let t: ReturnType<typeof tempDir>;
let core: SettlementCore;
let s: Station;
const clearing = '000-0000002';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

beforeEach(async () => {
  t = tempDir();
  const clock = new Clock();
  core = await openCore(`${t.dir}/ledger.db`, { clock: clock.read });
  s = await seedStation(core, clock, [{ balance: 1000 }, { balance: 100 }, { balance: 5000, attributes: { ageBand: '18-20', memberships: ['gym'] } }]);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

describe('settle', () => {
  it('approves, withdraws to clearing, answers with a verifiable tag, then deposits to the merchant', async () => {
    const w = s.wallets[0]!;
    const reply = await settleOk(s, makeRequest(s, w, { amount: 250 }));
    expect(reply.result.status).toBe('approved');
    expect(reply.result.amount).toEqual({ minor: 250, currency: 'EUR' });
    expect(verifyResultTag(deviceKey(s.device), reply.result)).toBe(true);
    expect(verifyResultTag(deviceKey('other'), reply.result)).toBe(false);
    expect(await balanceOf(core, w.account)).toBe(750);
    await core.drain();
    expect(await balanceOf(core, s.merchant)).toBe(250);
    expect(await balanceOf(core, clearing)).toBe(0);
    const entry = await core.store.getJournalEntry({ deviceId: s.device, requestId: reply.result.requestId });
    expect(entry?.state).toBe('deposited');
    expect((await core.audit()).ok).toBe(true);
  });

  it('answers a redelivery with the stored result byte for byte and settles once', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { amount: 100 });
    const first = await settleOk(s, req);
    s.clock.advance(5000);
    const again = await settleOk(s, { ...req, sentAt: s.clock.now, seq: 9 });
    expect(again.json).toBe(first.json);
    expect(again.replay).toBe(true);
    await core.drain();
    expect(await balanceOf(core, w.account)).toBe(900);
  });

  it('refuses the same key with other content as duplicate-mismatch and keeps the first', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { amount: 100 });
    await settleOk(s, req);
    const other = await settleOk(s, { ...req, purchase: { ...req.purchase, amount: { minor: 1, currency: 'EUR' } } });
    expect(other.result).toMatchObject({ status: 'declined', reason: 'duplicate-mismatch' });
    const stored = await core.store.getJournalEntry({ deviceId: s.device, requestId: req.requestId });
    expect(stored?.amount).toBe(100);
  });

  it('declines with stable reason codes and writes no money', async () => {
    const [w0, w1, w2] = s.wallets as [typeof s.wallets[0], typeof s.wallets[0], typeof s.wallets[0]];
    const cases: [string, () => Promise<unknown>][] = [
      ['insufficient-funds', () => settleOk(s, makeRequest(s, w1, { amount: 101 }))],
      ['over-limit', () => settleOk(s, makeRequest(s, w2, { amount: 50_001 }))],
      ['merchant-mismatch', () => settleOk(s, makeRequest(s, w0, { merchant: '500-0000099' }))],
      ['unknown-device', () => settleOk(s, makeRequest(s, w0, { device: 'ghost-1' }))],
      ['not-eligible', () => settleOk(s, makeRequest(s, w0, { restrictions: { eligibility: { minAgeYears: 18 } } }))],
      ['not-eligible', () => settleOk(s, makeRequest(s, w2, { restrictions: { eligibility: { minAgeYears: 21 } } }))],
      ['not-eligible', () => settleOk(s, makeRequest(s, w2, { restrictions: { eligibility: { membershipsAny: ['pool'] } } }))],
    ];
    for (const [reason, run] of cases) {
      const reply = (await run()) as { result: { status: string; reason?: string } };
      expect(reply.result, reason).toMatchObject({ status: 'declined', reason });
    }
    const eligible = await settleOk(s, makeRequest(s, w2, { restrictions: { eligibility: { minAgeYears: 18, membershipsAny: ['pool', 'gym'] } } }));
    expect(eligible.result.status).toBe('approved');
    await core.drain();
    expect(await balanceOf(core, w0.account)).toBe(1000);
    expect(await balanceOf(core, w1.account)).toBe(100);
    expect((await core.audit()).ok).toBe(true);
  });

  it('declines a wrong cryptogram and a reused counter', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w);
    const forged = await settleOk(s, { ...req, wallet: { ...req.wallet, cryptogram: 'ab'.repeat(32) } });
    expect(forged.result).toMatchObject({ status: 'declined', reason: 'bad-cryptogram' });
    const ok = await settleOk(s, makeRequest(s, w, { counter: 42 }));
    expect(ok.result.status).toBe('approved');
    const replayed = await settleOk(s, makeRequest(s, w, { counter: 42 }));
    expect(replayed.result).toMatchObject({ status: 'declined', reason: 'counter-reused' });
  });

  it('declines a cryptogram made for another amount (the device cannot change the price)', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { amount: 100 });
    const raised = { ...req, requestId: uuidv7(), purchase: { ...req.purchase, amount: { minor: 900, currency: 'EUR' } } };
    expect((await settleOk(s, raised)).result).toMatchObject({ status: 'declined', reason: 'bad-cryptogram' });
  });

  it('journals bad input under its request id with a coded decline, and never throws', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w);
    const bodies: [unknown, string][] = [
      [{ ...req, extra: 1 }, 'unknown-field'],
      [{ ...req, requestId: uuidv7(), purchase: { ...req.purchase, amount: { minor: -5, currency: 'EUR' } } }, 'invalid-amount'],
      [{ ...req, requestId: uuidv7(), purchase: { ...req.purchase, amount: { minor: 2.5, currency: 'EUR' } } }, 'invalid-amount'],
      [{ ...req, requestId: uuidv7(), purchase: { ...req.purchase, amount: { minor: 1e12, currency: 'EUR' } } }, 'invalid-amount'],
      [{ ...req, requestId: uuidv7(), wallet: { ...req.wallet, walletId: 'nope' } }, 'malformed-id'],
      [{ ...req, requestId: uuidv7(), purchase: { ...req.purchase, merchant: '12-34' } }, 'malformed-id'],
    ];
    for (const [body, reason] of bodies) {
      const reply = await core.settle(s.device, JSON.stringify(body));
      expect(reply.kind === 'result' && reply.result, reason).toMatchObject({ status: 'declined', reason });
      const again = await core.settle(s.device, JSON.stringify(body));
      expect(again.kind === 'result' && again.replay).toBe(true);
    }
    expect(await core.settle(s.device, '{not json')).toMatchObject({ kind: 'unreadable', reason: 'malformed-json' });
    expect(await core.settle(s.device, '{"requestId":"x"}')).toMatchObject({ kind: 'unreadable' });
    expect(await balanceOf(core, w.account)).toBe(1000);
    expect((await core.audit()).ok).toBe(true);
  });

  it('two taps of one payer in one batch draw on one balance', async () => {
    const w = s.wallets[1]!; // 100
    const a = makeRequest(s, w, { amount: 60 });
    const b = makeRequest(s, w, { amount: 60 });
    const [ra, rb] = await Promise.all([settleOk(s, a), settleOk(s, b)]);
    expect([ra.result.status, rb.result.status].sort()).toEqual(['approved', 'declined']);
    expect(await balanceOf(core, w.account)).toBe(40);
  });
});

describe('outcomes (vending)', () => {
  it('holds the money in clearing until dispensed, then deposits', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { amount: 300, outcomeDeadlineSec: 30 });
    await settleOk(s, req);
    await core.drain();
    expect(await balanceOf(core, clearing)).toBe(300);
    const outcome = { v: 1, type: 'outcome', requestId: uuidv7(), sentAt: s.clock.now, deviceId: s.device, settleRequestId: req.requestId, outcome: 'dispensed' };
    const ack = await core.outcome(s.device, JSON.stringify(outcome));
    expect(ack).toMatchObject({ kind: 'outcome-ack', ack: { status: 'applied' } });
    expect(await core.outcome(s.device, JSON.stringify(outcome))).toMatchObject({ ack: { status: 'already-applied' } });
    expect(await balanceOf(core, s.merchant)).toBe(300);
    expect((await core.audit()).ok).toBe(true);
  });

  it('refunds on vend-failed', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { amount: 300, outcomeDeadlineSec: 30 });
    await settleOk(s, req);
    const outcome = { v: 1, type: 'outcome', requestId: uuidv7(), sentAt: s.clock.now, deviceId: s.device, settleRequestId: req.requestId, outcome: 'vend-failed', detail: 'drop sensor saw nothing' };
    expect(await core.outcome(s.device, JSON.stringify(outcome))).toMatchObject({ ack: { status: 'applied' } });
    expect(await balanceOf(core, w.account)).toBe(1000);
    expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: req.requestId }))?.state).toBe('reversed');
  });

  it('refunds when the promised outcome does not come before its deadline; a late success is too-late', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { amount: 300, outcomeDeadlineSec: 30 });
    await settleOk(s, req);
    s.clock.advance(29_000);
    await core.runDue();
    expect(await balanceOf(core, w.account)).toBe(700);
    s.clock.advance(2_000);
    await core.runDue();
    expect(await balanceOf(core, w.account)).toBe(1000);
    const outcome = { v: 1, type: 'outcome', requestId: uuidv7(), sentAt: s.clock.now, deviceId: s.device, settleRequestId: req.requestId, outcome: 'dispensed' };
    expect(await core.outcome(s.device, JSON.stringify(outcome))).toMatchObject({ ack: { status: 'too-late' } });
    expect((await core.audit()).ok).toBe(true);
  });

  it('answers unknown-request for an outcome of another device or an unknown sale', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { outcomeDeadlineSec: 30 });
    await settleOk(s, req);
    await core.registerDevice({ id: 'vm-2', kind: 'vending', merchant: s.merchant });
    const outcome = { v: 1, type: 'outcome', requestId: uuidv7(), sentAt: s.clock.now, deviceId: 'vm-2', settleRequestId: req.requestId, outcome: 'vend-failed' };
    expect(await core.outcome('vm-2', JSON.stringify(outcome))).toMatchObject({ ack: { status: 'unknown-request' } });
    expect(await core.outcome(s.device, JSON.stringify(outcome))).toMatchObject({ kind: 'unreadable', reason: 'device-mismatch' });
    expect(await balanceOf(core, w.account)).toBe(750);
  });
});

describe('cooling-off (claim 13)', () => {
  it('defers the deposit until the period ends, then deposits automatically', async () => {
    const w = s.wallets[0]!;
    const reply = await settleOk(s, makeRequest(s, w, { amount: 400, restrictions: { coolingOffSec: 3600 } }));
    expect(reply.result).toMatchObject({ status: 'approved', deferredUntil: s.clock.now + 3_600_000 });
    await core.drain();
    await core.runDue();
    expect(await balanceOf(core, s.merchant)).toBe(0);
    expect(await balanceOf(core, clearing)).toBe(400);
    s.clock.advance(3_600_000);
    expect(await core.runDue()).toBe(1);
    expect(await balanceOf(core, s.merchant)).toBe(400);
    await expect(core.cancel({ deviceId: s.device, requestId: reply.result.requestId })).rejects.toMatchObject({ code: 'TS_ERR_NOT_CANCELLABLE' });
  });

  it('lets the paying wallet cancel within the period (and nobody else), idempotently', async () => {
    const [w0, w1] = s.wallets as [typeof s.wallets[0], typeof s.wallets[0]];
    const reply = await settleOk(s, makeRequest(s, w0, { amount: 400, restrictions: { coolingOffSec: 3600 } }));
    const key = { deviceId: s.device, requestId: reply.result.requestId };
    await expect(core.cancel(key, w1.walletId)).rejects.toMatchObject({ code: 'TS_ERR_UNKNOWN_REQUEST' });
    s.clock.advance(60_000);
    expect(await core.cancel(key, w0.walletId)).toEqual({ status: 'cancelled' });
    expect(await core.cancel(key, w0.walletId)).toEqual({ status: 'already-cancelled' });
    expect(await balanceOf(core, w0.account)).toBe(1000);
    s.clock.advance(3_600_000);
    await core.runDue();
    expect(await balanceOf(core, s.merchant)).toBe(0);
    expect((await core.audit()).ok).toBe(true);
  });

  it('survives a restart: the schedule is in the journal', async () => {
    const w = s.wallets[0]!;
    await settleOk(s, makeRequest(s, w, { amount: 400, restrictions: { coolingOffSec: 60 } }));
    await core.close();
    s.clock.advance(61_000);
    core = await openCore(`${t.dir}/ledger.db`, { clock: s.clock.read });
    expect(await balanceOf(core, s.merchant)).toBe(400);
  });
});

describe('wallet API proofs (claims 5–7)', () => {
  it('accepts a proof under the wallet key once per counter, and refuses forged, replayed or foreign ones', async () => {
    const [w0, w1] = s.wallets as [typeof s.wallets[0], typeof s.wallets[0]];
    const req = { walletId: w0.walletId, counter: 7, method: 'GET', path: `/v1/wallets/${w0.walletId}/statement`, bodySha256: sha256('') };
    const mac = walletRequestMac(w0.walletKey, req);
    expect(await core.authenticateWalletRequest({ ...req, mac })).toMatchObject({ ok: true, wallet: { id: w0.walletId, account: w0.account } });
    expect(await core.authenticateWalletRequest({ ...req, mac })).toEqual({ ok: false, reason: 'counter-reused' });
    const older = { ...req, counter: 6 };
    expect(await core.authenticateWalletRequest({ ...older, mac: walletRequestMac(w0.walletKey, older) })).toEqual({ ok: false, reason: 'counter-reused' });
    const other = { ...req, counter: 8, walletId: w1.walletId };
    expect(await core.authenticateWalletRequest({ ...other, mac: walletRequestMac(w0.walletKey, other) })).toEqual({ ok: false, reason: 'bad-cryptogram' });
    const changed = { ...req, counter: 9 };
    expect(await core.authenticateWalletRequest({ ...changed, path: '/v1/other', mac: walletRequestMac(w0.walletKey, changed) })).toEqual({ ok: false, reason: 'bad-cryptogram' });
    expect(await core.authenticateWalletRequest({ ...req, walletId: uuidv7(), mac })).toEqual({ ok: false, reason: 'unknown-wallet' });
    await core.setWalletStatus(w0.walletId, 'blocked');
    const later = { ...req, counter: 10 };
    expect(await core.authenticateWalletRequest({ ...later, mac: walletRequestMac(w0.walletKey, later) })).toEqual({ ok: false, reason: 'wallet-not-active' });
    expect((await settleOk(s, makeRequest(s, w0))).result).toMatchObject({ status: 'declined', reason: 'wallet-not-active' });
  });
});

describe('statement', () => {
  it('pages a customer history newest first with balances after each line', async () => {
    const w = s.wallets[0]!;
    for (let i = 0; i < 5; i += 1) {
      s.clock.advance(1000);
      await settleOk(s, makeRequest(s, w, { amount: 10 * (i + 1) }));
    }
    const page1 = await core.store.statement(w.account, { limit: 3 });
    expect(page1.map((l) => l.amount)).toEqual([-50, -40, -30]);
    expect(page1[0]!.balanceAfter).toBe(1000 - 150);
    const page2 = await core.store.statement(w.account, { limit: 3, beforeTransferId: page1[2]!.transferId });
    expect(page2.map((l) => l.amount)).toEqual([-20, -10, 1000]);
    expect(page2[2]!.kind).toBe('fund');
    const ranged = await core.store.statement(w.account, { limit: 10, fromMs: s.clock.now - 2500, toMs: s.clock.now });
    expect(ranged.map((l) => l.amount)).toEqual([-40, -30]);
  });
});
