/**
 * Claim 34 at a device: a settle request with `emoney: { kind: 'issue' }` is
 * paid to the issuer float, and its approval carries one token minted with
 * the wallet API's mint, recorded in the same transaction (so the audit's
 * float = unspent tokens holds and the wallet's inbox lists it), answered
 * again byte for byte on a resend. And every way it is declined.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyResultTag } from '../../../protocol/index.ts';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import { Clock, balanceOf, deviceKey, seedStation, tempDir } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';
import { clearingOf, emoneyRequest, expectAuditOk, floatOf, issuer, ledgers, settle, tokenOf, withIssuer } from './device-fixtures.ts';
import type { Ledger } from './device-fixtures.ts';

describe.each(ledgers)('on $label', (ledger: Ledger) => {
  let t: ReturnType<typeof tempDir>;
  let core: SettlementCore;
  let s: Station;
  let float: string;

  async function reopen(options = withIssuer): Promise<void> {
    await core.close();
    core = await ledger.open(t.dir, { clock: s.clock.read, ...options });
    s.core = core;
  }

  beforeEach(async () => {
    t = tempDir('tapsettle-emoney-device-');
    const clock = new Clock();
    core = await ledger.open(t.dir, { clock: clock.read, ...withIssuer });
    s = await seedStation(core, clock, [{ balance: 10_000 }, { balance: 300 }]);
    float = await floatOf(core);
  });
  afterEach(async () => {
    await core.close();
    await ledger.cleanup(t.dir);
    t.cleanup();
  });

  describe('e-money bought at a device', () => {
    it('pays the float, not the merchant, and mints one signed token held by the paying wallet into the result and the inbox', async () => {
      const w = s.wallets[0]!;
      const req = emoneyRequest(s, w, { amount: 2_000 });
      const reply = await settle(s, req);
      const token = tokenOf(reply.result);
      expect(token).toMatchObject({ amount: { minor: 2_000, currency: 'EUR' }, holder: w.walletId, float, keyId: issuer.keyId, issuedAt: s.clock.now });
      expect(reply.result).toMatchObject({ status: 'approved', amount: { minor: 2_000, currency: 'EUR' } });
      expect(reply.walletId).toBe(w.walletId);
      // The tag covers what it always covered; the token is checked by its own signature.
      expect(verifyResultTag(deviceKey(s.device), reply.result)).toBe(true);

      expect(await balanceOf(core, w.account)).toBe(8_000);
      expect(await balanceOf(core, float)).toBe(2_000);
      expect(await balanceOf(core, s.merchant)).toBe(0);
      expect(await balanceOf(core, await clearingOf(core))).toBe(0);
      expect(await core.store.emoneyInbox(w.walletId, { limit: 10 })).toEqual([token]);
      expect(await core.store.emoneyOutstanding()).toEqual(new Map([[float, { value: 2_000, count: 1 }]]));
      const records = await core.store.transaction((tx) => tx.getEmoneyTokens([token.serial]));
      expect(records.get(token.serial)).toEqual({ token, issueRequest: req.requestId, spentAt: null, depositRequest: null });

      const entry = await core.store.getJournalEntry({ deviceId: s.device, requestId: req.requestId });
      expect(entry).toMatchObject({ state: 'deposited', merchant: float, payer: w.account, awaitingOutcome: false, dueAt: null, counter: req.wallet.counter });
      expect(entry!.resultJson).toBe(reply.json);
      const lines = await core.store.statement(w.account, { limit: 5 });
      expect(lines[0]).toMatchObject({ kind: 'withdraw', amount: -2_000, journalRequestId: req.requestId });
      await expectAuditOk(core);
    });

    it('answers a resend with the same bytes (the same token), after a restart too, and never mints twice; other content is a mismatch', async () => {
      const w = s.wallets[0]!;
      const req = emoneyRequest(s, w, { amount: 500 });
      const first = await settle(s, req);
      s.clock.advance(5_000);
      const again = await settle(s, { ...req, sentAt: s.clock.now, seq: 9 });
      expect(again.replay).toBe(true);
      expect(again.json).toBe(first.json);
      await reopen();
      const afterRestart = await settle(s, req);
      expect(afterRestart.json).toBe(first.json);
      // The same key asking for a plain purchase instead: refused, the stored decision stands.
      const { emoney: _e, ...plain } = req;
      const mismatch = await settle(s, plain);
      expect(mismatch.result).toMatchObject({ status: 'declined', reason: 'duplicate-mismatch' });
      expect(await core.store.emoneyInbox(w.walletId, { limit: 10 })).toEqual([tokenOf(first.result)]);
      expect(await balanceOf(core, w.account)).toBe(9_500);
      await expectAuditOk(core);
    });

    it('the token can be deposited through the wallet API path; a second deposit is refused', async () => {
      const w = s.wallets[0]!;
      const token = tokenOf((await settle(s, emoneyRequest(s, w, { amount: 700 }))).result);
      const wallet = (await core.store.getWallet(w.walletId))!;
      const dep = await core.depositEmoney(wallet, { requestId: '01937a4e-8f00-7abc-8def-000000000001', tokens: [token] });
      expect(dep.kind === 'answer' && dep.answer).toMatchObject({ status: 'deposited', amount: { minor: 700, currency: 'EUR' }, serials: [token.serial] });
      expect(await balanceOf(core, w.account)).toBe(10_000);
      expect(await balanceOf(core, float)).toBe(0);
      const twice = await core.depositEmoney(wallet, { requestId: '01937a4e-8f00-7abc-8def-000000000002', tokens: [token] });
      expect(twice.kind === 'answer' && twice.answer).toMatchObject({ status: 'refused', reason: 'already-spent' });
      await expectAuditOk(core);
    });

    it('many e-money and plain purchases in one batch: each e-money approval mints its own token; the ledger stays sound', async () => {
      const [rich, poor] = s.wallets as [Station['wallets'][0], Station['wallets'][0]];
      const reqs = [
        emoneyRequest(s, rich, { amount: 1_000 }), emoneyRequest(s, rich, { amount: 1_500 }), emoneyRequest(s, poor, { amount: 200 }),
        emoneyRequest(s, poor, { amount: 200 }), // poor has 100 left after the one before: declined in the same batch
      ];
      const plain = { ...reqs[0]!, requestId: '01937a4e-8f00-7abc-8def-0000000000aa', emoney: undefined };
      const replies = await Promise.all([...reqs, plain].map((r) => settle(s, r)));
      expect(replies.slice(0, 4).map((r) => r.result.status)).toEqual(['approved', 'approved', 'approved', 'declined']);
      expect(replies[3]!.result.reason).toBe('insufficient-funds');
      expect(replies[3]!.result.emoney).toBeUndefined();
      // The plain copy reuses the first request's counter: the second use of it is refused.
      expect(replies[4]!.result).toMatchObject({ status: 'declined', reason: 'counter-reused' });
      const serials = replies.slice(0, 3).map((r) => tokenOf(r.result).serial);
      expect(new Set(serials).size).toBe(3);
      expect(await core.store.emoneyOutstanding()).toEqual(new Map([[float, { value: 2_700, count: 3 }]]));
      expect(await balanceOf(core, float)).toBe(2_700);
      await expectAuditOk(core);
    });
  });

  describe('e-money at a device, declined', () => {
    it('no issuer key: emoney-unavailable, nothing moves, the wallet counter is not used', async () => {
      await reopen({});
      const w = s.wallets[0]!;
      const req = emoneyRequest(s, w, { amount: 400 });
      const reply = await settle(s, req);
      expect(reply.result).toMatchObject({ status: 'declined', reason: 'emoney-unavailable' });
      expect(reply.result.emoney).toBeUndefined();
      expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: req.requestId }))?.counter).toBeNull();
      expect(await balanceOf(core, w.account)).toBe(10_000);
      // The same counter is still good for another purchase.
      await reopen();
      const retry = await settle(s, emoneyRequest(s, w, { amount: 400, counter: req.wallet.counter }));
      expect(retry.result.status).toBe('approved');
    });

    it('a frozen float: emoney-unavailable', async () => {
      await core.setAccountStatus(float, 'frozen');
      const reply = await settle(s, emoneyRequest(s, s.wallets[0]!, { amount: 400 }));
      expect(reply.result).toMatchObject({ status: 'declined', reason: 'emoney-unavailable' });
      expect(await core.store.emoneyOutstanding()).toEqual(new Map());
    });

    it.each([
      ['a ticket too', { ticket: { validitySec: 3600, uses: 1 } }],
      ['an outcome deadline', { outcomeDeadlineSec: 60 }],
      ['a cooling-off period', { restrictions: { coolingOffSec: 600 } }],
      ['an offline acceptance', { offline: true as const }],
    ])('with %s: invalid-request, nothing moves, no counter used', async (_what, extra) => {
      const w = s.wallets[0]!;
      const req = emoneyRequest(s, w, { amount: 400, ...extra });
      const reply = await settle(s, req);
      expect(reply.result).toMatchObject({ status: 'declined', reason: 'invalid-request' });
      expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: req.requestId }))?.counter).toBeNull();
      expect(await balanceOf(core, w.account)).toBe(10_000);
    });

    it('over the largest issuance (even when the per-settle limit is higher): over-limit; insufficient funds: nothing minted', async () => {
      await reopen({ ...withIssuer, limits: { amountMinorMaxPerSettle: 100_000 } });
      const w = s.wallets[0]!;
      await core.fund({ account: w.account, amount: 90_000, reference: 'more' });
      expect((await settle(s, emoneyRequest(s, w, { amount: 50_001 }))).result).toMatchObject({ status: 'declined', reason: 'over-limit' });
      expect((await settle(s, emoneyRequest(s, w, { amount: 50_000 }))).result.status).toBe('approved');
      const poor = s.wallets[1]!;
      expect((await settle(s, emoneyRequest(s, poor, { amount: 301 }))).result).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
      expect(await core.store.emoneyInbox(poor.walletId, { limit: 10 })).toEqual([]);
      expect(await balanceOf(core, float)).toBe(50_000);
      await expectAuditOk(core);
    });
  });
});
