/**
 * Random sequences of settles, redeliveries, mismatched duplicates, outcomes,
 * cancels, time passing and restarts (fast-check, replayable from its seed).
 * After every step: money is conserved and the audit passes; at the end,
 * every request key settled at most once and every answer given is the one
 * stored, byte for byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../protocol/index.ts';
import type { SettleRequest } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { Clock, makeRequest, openCore, seedStation, tempDir } from './fixtures.ts';
import type { Station } from './fixtures.ts';

const Op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('settle' as const), wallet: fc.nat(3), amount: fc.integer({ min: 1, max: 700 }), deadline: fc.boolean(), coolingOff: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mismatch' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('outcome' as const), pick: fc.nat(), success: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 90_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
);

interface Sent {
  req: SettleRequest;
  /** The first answer's bytes: every later answer for this key must be the same. */
  json: string;
}

type OpValue = typeof Op extends fc.Arbitrary<infer T> ? T : never;
/** What the runs exercised, so a generator that stopped producing a case is noticed. */
const seen = { approved: 0, declined: 0, replayed: 0, outcomes: 0, cancelled: 0, restarts: 0 };

async function step(s: Station, sent: Sent[], op: OpValue, reopen: () => Promise<SettlementCore>): Promise<void> {
  const pick = <T,>(list: T[], n: unknown): T | undefined => (list.length === 0 ? undefined : list[Number(n) % list.length]);
  switch (op.kind) {
    case 'settle': {
      const req = makeRequest(s, s.wallets[Number(op.wallet)]!, {
        amount: Number(op.amount),
        ...(op.deadline ? { outcomeDeadlineSec: 30 } : {}),
        ...(op.coolingOff ? { restrictions: { coolingOffSec: 60 } } : {}),
      });
      const r = await s.core.settle(s.device, JSON.stringify(req));
      if (r.kind !== 'result') throw new Error('unreadable');
      seen[r.result.status] += 1;
      sent.push({ req, json: r.json });
      return;
    }
    case 'redeliver': {
      const p = pick(sent, op.pick);
      if (!p) return;
      const r = await s.core.settle(s.device, JSON.stringify({ ...p.req, sentAt: s.clock.now }));
      expect(r.kind === 'result' && r.json).toBe(p.json);
      seen.replayed += 1;
      return;
    }
    case 'mismatch': {
      const p = pick(sent, op.pick);
      if (!p) return;
      const r = await s.core.settle(s.device, JSON.stringify({ ...p.req, purchase: { ...p.req.purchase, article: 'other' } }));
      expect(r.kind === 'result' && r.result.reason).toBe('duplicate-mismatch');
      return;
    }
    case 'outcome': {
      const p = pick(sent, op.pick);
      if (!p) return;
      const body = { v: 1, type: 'outcome', requestId: uuidv7(s.clock.now), sentAt: s.clock.now, deviceId: s.device, settleRequestId: p.req.requestId, outcome: op.success ? 'dispensed' : 'vend-failed' };
      const r = await s.core.outcome(s.device, JSON.stringify(body));
      expect(r.kind).toBe('outcome-ack');
      if (r.kind === 'outcome-ack' && r.ack.status === 'applied') seen.outcomes += 1;
      return;
    }
    case 'cancel': {
      const p = pick(sent, op.pick);
      if (!p) return;
      await s.core.cancel({ deviceId: s.device, requestId: p.req.requestId }, p.req.wallet.walletId).then(() => { seen.cancelled += 1; }, (err: { code?: string }) => {
        expect(['TS_ERR_NOT_CANCELLABLE', 'TS_ERR_UNKNOWN_REQUEST']).toContain(err.code);
      });
      return;
    }
    case 'time':
      s.clock.advance(Number(op.ms));
      await s.core.runDue();
      return;
    case 'restart':
      await s.core.close();
      s.core = await reopen();
      seen.restarts += 1;
      return;
  }
}

describe('settlement properties', () => {
  it('conserves money, settles each key at most once and replays answers byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(Op, { minLength: 10, maxLength: 40, size: 'max' }), async (ops) => {
        const t = tempDir('tapsettle-prop-');
        const clock = new Clock();
        const path = `${t.dir}/ledger.db`;
        const s = await seedStation(await openCore(path, { clock: clock.read }), clock, [{ balance: 2000 }, { balance: 500 }, { balance: 0 }, { balance: 900 }]);
        const sent: Sent[] = [];
        try {
          for (const op of ops) {
            await step(s, sent, op, () => openCore(path, { clock: clock.read }));
            await s.core.drain();
            const report = await s.core.audit();
            expect(report.checks.filter((c) => !c.ok)).toEqual([]);
          }
          for (const p of sent) {
            const e = await s.core.store.getJournalEntry({ deviceId: s.device, requestId: p.req.requestId });
            expect(e?.resultJson).toBe(p.json);
            const payer = s.wallets.find((w) => w.walletId === p.req.wallet.walletId)!.account;
            const withdrawals = (await s.core.store.statement(payer, { limit: 1000 }))
              .filter((l) => l.journalRequestId === p.req.requestId && l.kind === 'withdraw');
            expect(withdrawals.length).toBeLessThanOrEqual(1);
            expect(withdrawals.length).toBe(e!.state === 'declined' ? 0 : 1);
          }
        } finally {
          await s.core.close();
          t.cleanup();
        }
      }),
      { numRuns: 30 },
    );
    for (const [what, n] of Object.entries(seen)) expect(n, `runs exercised ${what}`).toBeGreaterThan(0);
  });
});
