/**
 * Claim 34 at a device, after the approval: the sale is final (the token holds
 * the value), so a device's outcome is recorded and moves nothing — not even
 * `vend-failed` refunds, since a refund would leave a valid token without its
 * float. No outcome deadline exists to pass. A restart between the approval
 * and the outcome changes nothing. fast-check runs of purchases, outcomes and
 * deposits keep the audit (float = unspent tokens) sound.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../protocol/index.ts';
import type { EmoneyToken } from '../../../protocol/index.ts';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import { Clock, balanceOf, makeRequest, seedStation, tempDir } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';
import { emoneyRequest, expectAuditOk, floatOf, ledgers, sendOutcome, settle, tokenOf, withIssuer } from './device-fixtures.ts';
import type { Ledger } from './device-fixtures.ts';

describe.each(ledgers)('on $label', (ledger: Ledger) => {
  let t: ReturnType<typeof tempDir>;
  let core: SettlementCore;
  let s: Station;
  let float: string;

  beforeEach(async () => {
    t = tempDir('tapsettle-emoney-outcomes-');
    const clock = new Clock();
    core = await ledger.open(t.dir, { clock: clock.read, ...withIssuer });
    s = await seedStation(core, clock, [{ balance: 10_000 }, { balance: 5_000 }]);
    float = await floatOf(core);
  });
  afterEach(async () => {
    await core.close();
    await ledger.cleanup(t.dir);
    t.cleanup();
  });

  const entryOf = (requestId: string) => core.store.getJournalEntry({ deviceId: s.device, requestId });

  async function bought(amount: number, wallet = s.wallets[0]!): Promise<{ requestId: string; token: EmoneyToken }> {
    s.clock.advance(1); // serials are UUIDv7: one millisecond apart, they list in purchase order
    const req = emoneyRequest(s, wallet, { amount });
    return { requestId: req.requestId, token: tokenOf((await settle(s, req)).result) };
  }

  describe('outcomes of an e-money sale at a device', () => {
    it('emoney-delivered and emoney-retrievable are recorded; nothing moves; a resend is already-applied, another outcome rejected', async () => {
      const a = await bought(1_000);
      const b = await bought(600);
      const before = { payer: await balanceOf(core, s.wallets[0]!.account), float: await balanceOf(core, float) };
      const outcomeId = '01937a4e-8f00-7abc-8def-0000000000d1';
      expect(await sendOutcome(s, a.requestId, 'emoney-delivered', outcomeId)).toBe('applied');
      expect(await sendOutcome(s, a.requestId, 'emoney-delivered', outcomeId)).toBe('already-applied');
      expect(await sendOutcome(s, a.requestId, 'emoney-retrievable')).toBe('rejected');
      expect(await sendOutcome(s, b.requestId, 'emoney-retrievable')).toBe('applied');
      expect(await entryOf(a.requestId)).toMatchObject({ state: 'deposited', outcome: 'emoney-delivered', outcomeRequestId: outcomeId });
      expect(await entryOf(b.requestId)).toMatchObject({ state: 'deposited', outcome: 'emoney-retrievable' });
      expect(await balanceOf(core, s.wallets[0]!.account)).toBe(before.payer);
      expect(await balanceOf(core, float)).toBe(before.float);
      // Retrievable: the token waits in the wallet's inbox (so does the delivered one, until it is deposited).
      expect((await core.store.emoneyInbox(s.wallets[0]!.walletId, { limit: 10 })).map((x) => x.serial)).toEqual([a.token.serial, b.token.serial]);
      await expectAuditOk(core);
    });

    it('vend-failed (or any failure) refunds nothing: the token stays valid in the inbox and the float keeps its value', async () => {
      const a = await bought(800);
      expect(await sendOutcome(s, a.requestId, 'vend-failed')).toBe('applied');
      expect(await entryOf(a.requestId)).toMatchObject({ state: 'deposited', outcome: 'vend-failed' });
      expect(await balanceOf(core, s.wallets[0]!.account)).toBe(9_200);
      expect(await balanceOf(core, float)).toBe(800);
      expect(await core.store.emoneyInbox(s.wallets[0]!.walletId, { limit: 10 })).toEqual([a.token]);
      await expectAuditOk(core);
    });

    it('no outcome at all: there is no deadline, nothing is due, nothing is reversed', async () => {
      const a = await bought(300);
      s.clock.advance(24 * 3600 * 1000);
      expect(await core.runDue()).toBe(0);
      expect(await core.store.nextDueAt()).toBeNull();
      expect(await entryOf(a.requestId)).toMatchObject({ state: 'deposited', outcome: null, dueAt: null });
      expect(await balanceOf(core, float)).toBe(300);
      await expectAuditOk(core);
    });

    it('a restart between the approval and the outcome: the token is on disk, the resend is the same bytes, the outcome applies', async () => {
      const req = emoneyRequest(s, s.wallets[1]!, { amount: 450 });
      const first = await settle(s, req);
      await core.close();
      core = await ledger.open(t.dir, { clock: s.clock.read, ...withIssuer });
      s.core = core;
      expect(await core.store.emoneyInbox(s.wallets[1]!.walletId, { limit: 10 })).toEqual([tokenOf(first.result)]);
      expect((await settle(s, req)).json).toBe(first.json);
      expect(await sendOutcome(s, req.requestId, 'emoney-retrievable')).toBe('applied');
      expect(await entryOf(req.requestId)).toMatchObject({ state: 'deposited', outcome: 'emoney-retrievable' });
      await expectAuditOk(core);
    });
  });

  describe('e-money at devices under random sequences', () => {
    type Op = { kind: 'emoney' | 'plain'; wallet: 0 | 1; amount: number } | { kind: 'outcome'; which: number; good: boolean } | { kind: 'deposit'; wallet: 0 | 1 };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('emoney' as const, 'plain' as const), wallet: fc.constantFrom(0 as const, 1 as const), amount: fc.integer({ min: 1, max: 4_000 }) }),
      fc.record({ kind: fc.constant('outcome' as const), which: fc.nat(20), good: fc.boolean() }),
      fc.record({ kind: fc.constant('deposit' as const), wallet: fc.constantFrom(0 as const, 1 as const) }),
    );

    it('keep float = unspent tokens, conservation and every other audit check (checked after each run)', async () => {
      let runs = 0;
      let minted = 0;
      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        const sold: string[] = [];
        for (const op of ops) {
          s.clock.advance(10);
          if (op.kind === 'emoney' || op.kind === 'plain') {
            const w = s.wallets[op.wallet]!;
            const req = op.kind === 'emoney' ? emoneyRequest(s, w, { amount: op.amount }) : makeRequest(s, w, { amount: op.amount, outcomeDeadlineSec: 60 });
            const r = await settle(s, req);
            if (r.result.status === 'approved') sold.push(req.requestId);
            if (r.result.emoney !== undefined) minted += 1;
            expect(r.result.emoney !== undefined).toBe(op.kind === 'emoney' && r.result.status === 'approved');
          } else if (op.kind === 'outcome') {
            const id = sold[op.which % Math.max(1, sold.length)];
            if (id !== undefined) await sendOutcome(s, id, op.good ? 'emoney-delivered' : 'vend-failed');
          } else {
            const w = s.wallets[op.wallet]!;
            const tokens = await core.store.emoneyInbox(w.walletId, { limit: 32 });
            if (tokens.length > 0) {
              const r = await core.depositEmoney((await core.store.getWallet(w.walletId))!, { requestId: uuidv7(s.clock.now), tokens });
              expect(r.kind === 'answer' && r.answer.status).toBe('deposited');
            }
          }
        }
        s.clock.advance(3_600_000);
        await core.runDue();
        runs += 1;
        await expectAuditOk(core);
        const unspent = await core.store.emoneyOutstanding();
        expect(unspent.get(float)?.value ?? 0).toBe(await balanceOf(core, float));
      }), { numRuns: 15 });
      expect(runs).toBe(15);
      expect(minted).toBeGreaterThan(0);
    });
  });
});
