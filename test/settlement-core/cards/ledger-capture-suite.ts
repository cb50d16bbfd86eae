/**
 * Card sales in the ledger (claim 36, issue 7) on one ledger store, run
 * against SQLite, PostgreSQL and the sharded store alike: capture moves money
 * once, replays byte for byte, refuses another content; reversal once, a
 * reversal that overtakes its capture wins; refused captures move nothing;
 * answers survive a restart; fuzzed input gets coded errors; the audit's card
 * check holds after every test, and a random mix of captures, reversals and
 * resends ends where a simple model says.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../protocol/index.ts';
import { SettlementCore } from '../../../settlement-core/index.ts';
import type { LedgerStore } from '../../../settlement-core/index.ts';
import type { CardSaleCapture } from '../../../settlement-core/cards/index.ts';
import { Clock, balanceOf, deviceKey, issuerMasterKey, makeRequest, settleOk } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';

export interface CardLedgerStores {
  /** The store of this test; called again after a close, it reopens the same data. */
  open(): LedgerStore;
  /** EUR, a merchant and one funded customer. */
  seed(core: SettlementCore, clock: Clock): Promise<Station>;
  cleanup(): Promise<void>;
  /** Checks run at the end of the money test (the sharded store: where the transfers landed). */
  extra?: (core: SettlementCore, s: Station) => Promise<void>;
}

const eur = (minor: number) => ({ minor, currency: 'EUR' });

export function cardLedgerSuite(label: string, makeStores: () => CardLedgerStores): void {
  describe(`card sales in the ledger on ${label}`, () => {
    let stores: CardLedgerStores;
    let core: SettlementCore;
    let s: Station;
    let receivable: string;
    const clock = new Clock();

    const open = () => SettlementCore.open({ store: stores.open(), issuerMasterKey, deviceKey, scheduler: false, clock: clock.read });
    const capture = (o: Partial<CardSaleCapture> = {}): CardSaleCapture => ({
      authorizationId: uuidv7(clock.now), merchant: s.merchant, amount: eur(1_250), cardToken: 'ct_abcdefghijklmnopqrstuvwx', last4: '4242', approvalCode: 'A1B2C3', ...o,
    });
    const balances = async () => ({ merchant: await balanceOf(core, s.merchant), receivable: await balanceOf(core, receivable) });
    const expectAuditOk = async () => {
      const report = await core.audit();
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.map((c) => c.name)).toContain('cards');
    };

    beforeEach(async () => {
      stores = makeStores();
      core = await open();
      s = await stores.seed(core, clock);
      receivable = (await core.store.listAccounts({ kind: 'card-receivable', limit: 10 }))[0]!.id;
    });
    afterEach(async () => {
      await expectAuditOk();
      await core.close();
      await stores.cleanup();
    });

    it('creates one card-receivable system account per currency, on branch 000', async () => {
      const all = await core.store.listAccounts({ kind: 'card-receivable', limit: 10 });
      expect(all.map((a) => [a.id.slice(0, 4), a.currency, a.balance, a.status])).toEqual([['000-', 'EUR', 0, 'active']]);
      expect(await core.initCurrency('EUR')).toEqual([]);
    });

    it('captures: receivable → merchant in one transfer; a resend gets the same answer and moves nothing', async () => {
      const c = capture();
      const first = await core.captureCardSale(c);
      expect(first).toEqual({ authorizationId: c.authorizationId, status: 'captured', amount: eur(1_250), at: clock.now });
      expect(await balances()).toEqual({ merchant: 1_250, receivable: -1_250 });
      clock.advance(60_000);
      const again = await core.captureCardSale(c);
      expect(JSON.stringify(again)).toBe(JSON.stringify(first));
      expect(await balances()).toEqual({ merchant: 1_250, receivable: -1_250 });
      const lines = await core.store.statement(s.merchant, { limit: 10 });
      expect(lines).toEqual([expect.objectContaining({ kind: 'card-capture', amount: 1_250, balanceAfter: 1_250, counterparty: receivable, journalDeviceId: 'card:capture', journalRequestId: c.authorizationId })]);
      const entry = await core.store.getJournalEntry({ deviceId: 'card:capture', requestId: c.authorizationId });
      expect(entry).toMatchObject({ state: 'deposited', merchant: s.merchant, payer: receivable, amount: 1_250, currency: 'EUR', dueAt: null });
      expect(JSON.parse(entry!.requestJson)).toEqual(c);
      await stores.extra?.(core, s);
    });

    it('the scheme pays what it owes: a payout into the receivable brings it toward 0, once per reference, never past 0; the audit counts it', async () => {
      for (const minor of [1_250, 700, 300]) await core.captureCardSale(capture({ amount: eur(minor) }));
      expect(await balances()).toEqual({ merchant: 2_250, receivable: -2_250 });
      const paid = await core.fund({ account: receivable, amount: 2_000, reference: 'scheme-2026-11-24' });
      expect(paid).toMatchObject({ kind: 'fund', to: receivable, amount: 2_000 });
      await core.fund({ account: receivable, amount: 2_000, reference: 'scheme-2026-11-24' });
      expect(await balances()).toEqual({ merchant: 2_250, receivable: -250 });
      await expectAuditOk();
      await expect(core.fund({ account: receivable, amount: 251, reference: 'scheme-too-much' })).rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
      expect(await balances()).toEqual({ merchant: 2_250, receivable: -250 });
      // A reversal after a payout: the scheme owes less again, the receivable is back to what is still out.
      const last = capture({ amount: eur(250) });
      await core.captureCardSale(last);
      await core.reverseCardSale({ authorizationId: last.authorizationId, reason: 'operator' });
      await core.fund({ account: receivable, amount: 250, reference: 'scheme-2026-11-25' });
      expect(await balances()).toEqual({ merchant: 2_250, receivable: 0 });
      await expect(core.fund({ account: receivable, amount: 1, reference: 'scheme-nothing-owed' })).rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
    });

    it('refuses the same id with another merchant, amount or approval: TS_ERR_CARD_DUPLICATE_MISMATCH, nothing moves', async () => {
      const c = capture();
      const first = await core.captureCardSale(c);
      const other = await core.openAccount({ kind: 'merchant', branch: s.merchant.startsWith('500') ? 501 : 502, currency: 'EUR', name: 'Other shop' });
      for (const changed of [{ amount: eur(1_251) }, { merchant: other.id }, { approvalCode: 'ZZZZZZ' }, { last4: '0000' }, { cardToken: null }]) {
        await expect(core.captureCardSale({ ...c, ...changed })).rejects.toMatchObject({ code: 'TS_ERR_CARD_DUPLICATE_MISMATCH' });
      }
      expect(await balances()).toEqual({ merchant: 1_250, receivable: -1_250 });
      expect(await balanceOf(core, other.id)).toBe(0);
      expect(await core.captureCardSale(c)).toEqual(first);
    });

    it('reverses a capture once: merchant → receivable; a resend replays, another reason is a mismatch; the capture still replays', async () => {
      const c = capture();
      const captured = await core.captureCardSale(c);
      clock.advance(1_000);
      const reversed = await core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'not-delivered' });
      expect(reversed).toEqual({ authorizationId: c.authorizationId, status: 'reversed', amount: eur(1_250), at: clock.now });
      expect(await balances()).toEqual({ merchant: 0, receivable: 0 });
      clock.advance(1_000);
      expect(JSON.stringify(await core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'not-delivered' }))).toBe(JSON.stringify(reversed));
      await expect(core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'operator' })).rejects.toMatchObject({ code: 'TS_ERR_CARD_DUPLICATE_MISMATCH' });
      expect(await core.captureCardSale(c)).toEqual(captured);
      expect(await balances()).toEqual({ merchant: 0, receivable: 0 });
      const kinds = (await core.store.statement(s.merchant, { limit: 10 })).map((l) => [l.kind, l.amount]);
      expect(kinds).toEqual([['card-reversal', -1_250], ['card-capture', 1_250]]);
    });

    it('a reversal that overtakes its capture wins: recorded not-captured, the capture is refused already-reversed, nothing moves', async () => {
      const id = uuidv7(clock.now);
      const early = await core.reverseCardSale({ authorizationId: id, reason: 'timeout' });
      expect(early).toEqual({ authorizationId: id, status: 'not-captured', amount: { minor: 0, currency: 'XXX' }, at: clock.now });
      const named = await core.reverseCardSale({ authorizationId: uuidv7(clock.now), reason: 'timeout', amount: eur(700) });
      expect(named).toMatchObject({ status: 'not-captured', amount: eur(700) });
      clock.advance(5_000);
      const late = await core.captureCardSale(capture({ authorizationId: id }));
      expect(late).toEqual({ authorizationId: id, status: 'refused', reason: 'already-reversed', amount: eur(1_250), at: clock.now });
      expect(await balances()).toEqual({ merchant: 0, receivable: 0 });
      clock.advance(5_000);
      expect(await core.captureCardSale(capture({ authorizationId: id }))).toEqual(late);
      expect(await core.reverseCardSale({ authorizationId: id, reason: 'timeout' })).toEqual(early);
    });

    it('refuses a capture for an unknown, non-merchant, frozen or closed account, or another currency: coded, recorded, nothing moves', async () => {
      const frozen = await core.openAccount({ kind: 'merchant', branch: 510, currency: 'EUR', name: 'Frozen shop' });
      const closed = await core.openAccount({ kind: 'merchant', branch: 520, currency: 'EUR', name: 'Closed shop' });
      await core.setAccountStatus(frozen.id, 'frozen');
      await core.setAccountStatus(closed.id, 'closed');
      const cases: [Partial<CardSaleCapture>, string][] = [
        [{ merchant: '999-0000001' }, 'unknown-merchant'],
        [{ merchant: s.wallets[0]!.account }, 'not-a-merchant'],
        [{ merchant: receivable }, 'not-a-merchant'],
        [{ merchant: frozen.id }, 'account-not-active'],
        [{ merchant: closed.id }, 'account-not-active'],
        [{ amount: { minor: 1_250, currency: 'USD' } }, 'currency-mismatch'],
      ];
      const customerBefore = await balanceOf(core, s.wallets[0]!.account);
      for (const [o, reason] of cases) {
        const c = capture(o);
        const answer = await core.captureCardSale(c);
        expect(answer, reason).toEqual({ authorizationId: c.authorizationId, status: 'refused', reason, amount: c.amount, at: clock.now });
        await core.setAccountStatus(frozen.id, 'active'); // a refusal is final: the same request later gets the same answer
        expect(await core.captureCardSale(c)).toEqual(answer);
        await core.setAccountStatus(frozen.id, 'frozen');
        expect(await core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'cancelled' })).toMatchObject({ status: 'not-captured', amount: c.amount });
      }
      expect(await balances()).toEqual({ merchant: 0, receivable: 0 });
      expect(await balanceOf(core, frozen.id)).toBe(0);
      expect(await balanceOf(core, s.wallets[0]!.account)).toBe(customerBefore);
    });

    it('a reversal the merchant cannot pay, or of another amount, is refused and not recorded; sent again later it reverses', async () => {
      const c = capture({ amount: eur(500) });
      await core.captureCardSale(c);
      await core.reverseCardSale({ authorizationId: uuidv7(clock.now), reason: 'operator' }); // another id: no effect on this one
      expect(await core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'operator', amount: eur(499) })).toMatchObject({ status: 'refused', reason: 'amount-mismatch', amount: eur(500) });
      await payOut(core, s.merchant, 400); // the merchant's money went out (a payout): 100 left
      expect(await core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'operator', amount: eur(500) })).toMatchObject({ status: 'refused', reason: 'insufficient-funds' });
      expect(await balances()).toEqual({ merchant: 100, receivable: -500 });
      await core.fund({ account: s.merchant, amount: 400, reference: 'merchant-top-up' });
      expect(await core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'operator', amount: eur(500) })).toMatchObject({ status: 'reversed', amount: eur(500) });
      expect(await balances()).toEqual({ merchant: 0, receivable: 0 });
    });

    it('answers survive a restart: the same request to a reopened core replays, byte for byte', async () => {
      const c = capture();
      const captured = JSON.stringify(await core.captureCardSale(c));
      const early = uuidv7(clock.now);
      const notCaptured = JSON.stringify(await core.reverseCardSale({ authorizationId: early, reason: 'timeout' }));
      await core.close();
      clock.advance(3_600_000);
      core = await open();
      expect(JSON.stringify(await core.captureCardSale(c))).toBe(captured);
      expect(JSON.stringify(await core.reverseCardSale({ authorizationId: early, reason: 'timeout' }))).toBe(notCaptured);
      expect(await core.captureCardSale(capture({ authorizationId: early }))).toMatchObject({ status: 'refused', reason: 'already-reversed' });
    });

    it('card sales and phone sales to the same merchant interleave: the core\'s read cache sees every card movement', async () => {
      const w = s.wallets[0]!;
      await settleOk(s, makeRequest(s, w, { amount: 200 }));
      await core.drain();
      const c = capture({ amount: eur(300) });
      await core.captureCardSale(c);
      await settleOk(s, makeRequest(s, w, { amount: 100 }));
      await core.drain();
      await core.reverseCardSale({ authorizationId: c.authorizationId, reason: 'cancelled' });
      await settleOk(s, makeRequest(s, w, { amount: 50 }));
      await core.drain();
      expect(await balances()).toEqual({ merchant: 350, receivable: 0 });
      expect(await balanceOf(core, w.account)).toBe(1_000 - 350);
    });

    it('many captures at once, each sent twice: each captured once', async () => {
      const sales = Array.from({ length: 40 }, (_, i) => capture({ amount: eur(100 + i) }));
      const answers = await Promise.all([...sales, ...sales].map((c) => core.captureCardSale(c)));
      expect(answers.every((a) => a.status === 'captured')).toBe(true);
      const total = sales.reduce((sum, c) => sum + c.amount.minor, 0);
      expect(await balances()).toEqual({ merchant: total, receivable: -total });
    });

    it('a currency set up before cards existed: capture is TS_ERR_CURRENCY and not recorded until `ledger init` adds the receivable', async () => {
      await core.store.transaction(async (tx) => {
        await tx.bumpEpoch();
        await tx.insertAccount({ id: '000-0000100', kind: 'clearing', currency: 'CHF', name: 'clearing CHF', balance: 0, floor: 0, status: 'active', attributes: {}, createdAt: clock.now });
      });
      const shop = await core.openAccount({ kind: 'merchant', branch: 530, currency: 'CHF', name: 'Swiss shop' });
      const c = capture({ merchant: shop.id, amount: { minor: 900, currency: 'CHF' } });
      await expect(core.captureCardSale(c)).rejects.toMatchObject({ code: 'TS_ERR_CURRENCY' });
      expect((await core.initCurrency('CHF')).map((a) => a.kind)).toContain('card-receivable');
      expect(await core.captureCardSale(c)).toMatchObject({ status: 'captured', amount: { minor: 900, currency: 'CHF' } });
      expect(await balanceOf(core, shop.id)).toBe(900);
    });

    it('fuzzed captures and reversals get a coded error or a decision; the core stays up and the ledger sound', async () => {
      const genuine = capture() as unknown as Record<string, unknown>;
      const input = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.tuple(fc.constantFrom(...Object.keys(genuine), 'extra'), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => ({ ...genuine, authorizationId: uuidv7(), [k]: v })),
        fc.record({ authorizationId: fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })), reason: fc.oneof(fc.constantFrom('timeout', 'operator'), fc.string({ maxLength: 12 })), amount: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['authorizationId'] }),
      );
      await fc.assert(fc.asyncProperty(input, fc.boolean(), async (value, asReversal) => {
        const sent = asReversal ? core.reverseCardSale(value as never) : core.captureCardSale(value as never);
        try {
          const answer = await sent;
          expect(['captured', 'refused', 'not-captured', 'reversed']).toContain(answer.status);
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(/^TS_ERR_(INVALID_ARGUMENT|CARD_DUPLICATE_MISMATCH)$/);
        }
      }), { numRuns: 150, seed: 36 });
      expect(await core.captureCardSale(capture())).toMatchObject({ status: 'captured' });
    });

    it('a random mix of captures, reversals and resends ends where the model says', async () => {
      const op = fc.record({ kind: fc.constantFrom('capture', 'reverse'), slot: fc.integer({ min: 0, max: 5 }), minor: fc.integer({ min: 1, max: 3 }) });
      await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const ids = Array.from({ length: 6 }, () => uuidv7(clock.now));
        const model = new Map<string, { captured: number | null; reversed: boolean; reversalFirst: boolean; refused: boolean }>();
        const start = await balances();
        for (const o of ops) {
          const id = ids[o.slot]!;
          const m = model.get(id) ?? { captured: null, reversed: false, reversalFirst: false, refused: false };
          model.set(id, m);
          if (o.kind === 'capture') {
            const sale = capture({ authorizationId: id, amount: eur(o.minor * 100) });
            const mismatch = (m.captured !== null && m.captured !== sale.amount.minor) || (m.refused && m.captured !== sale.amount.minor);
            const sent = core.captureCardSale(sale);
            if (mismatch) {
              await expect(sent).rejects.toMatchObject({ code: 'TS_ERR_CARD_DUPLICATE_MISMATCH' });
              continue;
            }
            const a = await sent;
            if (m.reversalFirst || m.refused) expect(a).toMatchObject({ status: 'refused', reason: 'already-reversed' });
            else expect(a.status).toBe('captured');
            if (a.status === 'refused') m.refused = true;
            m.captured = sale.amount.minor;
          } else {
            const a = await core.reverseCardSale({ authorizationId: id, reason: 'timeout' });
            const captured = m.captured !== null && !m.refused && !m.reversalFirst;
            expect(a.status).toBe(captured ? 'reversed' : 'not-captured');
            if (captured) m.reversed = true;
            else if (m.captured === null) m.reversalFirst = true;
          }
        }
        const out = [...model.values()].reduce((sum, m) => sum + (m.captured !== null && !m.refused && !m.reversed ? m.captured : 0), 0);
        const end = await balances();
        expect([end.merchant - start.merchant, start.receivable - end.receivable]).toEqual([out, out]);
      }), { numRuns: 25, seed: 8583 });
    });
  });
}

/** Money leaves the merchant (a payout to the outside world) outside any card sale: a plain funding movement back to external funding. */
async function payOut(core: SettlementCore, merchant: string, amount: number): Promise<void> {
  await core.store.transaction(async (tx) => {
    await tx.bumpEpoch();
    const [external] = await tx.findAccounts('external-funding', 'EUR');
    const m = (await tx.getAccounts([merchant])).get(merchant)!;
    await tx.apply({
      journalInserts: [], journalUpdates: [], balances: [{ id: m.id, before: m.balance, after: m.balance - amount }, { id: external!.id, before: external!.balance, after: external!.balance + amount }],
      transfers: [{ kind: 'fund', from: m.id, to: external!.id, amount, currency: 'EUR', fromBalanceAfter: m.balance - amount, toBalanceAfter: external!.balance + amount, journalDeviceId: null, journalRequestId: null, reference: `payout-${merchant}-${amount}`, at: 0 }],
    });
  });
}
