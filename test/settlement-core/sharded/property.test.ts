/**
 * Random runs mixing what the sharded store must get right together
 * (fast-check, replayable from its seed): settlements to a plain merchant on
 * another server and to a hot shop, redeliveries, outcomes, cancels, time
 * passing, integration on demand, restarts, and crashes between a send and
 * its credit. After every step the global audit passes; at the end, after
 * recovery, nothing is in flight, every answer is the stored one byte for
 * byte, and the shops hold what was deposited.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SettleRequest } from '../../../protocol/index.ts';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import { integrate, markHot } from '../../../settlement-core/store/sharded/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, makeRequest, tempDir } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

const Op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('settle' as const), wallet: fc.nat(5), amount: fc.integer({ min: 1, max: 400 }), hot: fc.boolean(), deadline: fc.boolean(), coolingOff: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('outcome' as const), pick: fc.nat(), success: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 90_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('integrate' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
  // Weight 2: a crash op finds credits owed only some of the time, and every run must see at least one crash.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash-before-credits' as const) }) },
);
type OpValue = typeof Op extends fc.Arbitrary<infer T> ? T : never;

interface World {
  dir: string;
  clock: Clock;
  store: ShardedLedgerStore;
  core: SettlementCore;
  s: Station;
  hotShop: string;
  hotDevice: string;
  crashNext: boolean;
  sent: { req: SettleRequest; json: string }[];
}

const seen = { approved: 0, declined: 0, replayed: 0, integrations: 0, crashes: 0, restarts: 0 };

async function open(w: Pick<World, 'dir' | 'clock'> & Partial<World>): Promise<void> {
  w.store = openSqliteSharded(w.dir, 3, { faults: { beforeCredits: () => { if (w.crashNext) { w.crashNext = false; throw new Error('crash: credits never delivered'); } } } });
  w.core = await openShardedCore(w.store, { clock: w.clock.read });
  if (w.s) w.s = { ...w.s, core: w.core };
}

async function step(w: World, op: OpValue): Promise<void> {
  const pick = <T,>(list: T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
  switch (op.kind) {
    case 'settle': {
      const req = makeRequest(w.s, w.s.wallets[op.wallet]!, {
        amount: op.amount, ...(op.hot ? { merchant: w.hotShop, device: w.hotDevice } : {}),
        ...(op.deadline ? { outcomeDeadlineSec: 30 } : {}), ...(op.coolingOff ? { restrictions: { coolingOffSec: 60 } } : {}),
      });
      const r = await w.core.settle(req.deviceId, JSON.stringify(req));
      if (r.kind !== 'result') throw new Error('unreadable');
      seen[r.result.status] += 1;
      w.sent.push({ req, json: r.json });
      return;
    }
    case 'redeliver': {
      const x = pick(w.sent, op.pick);
      if (!x) return;
      const r = await w.core.settle(x.req.deviceId, JSON.stringify({ ...x.req, sentAt: w.clock.now }));
      expect(r.kind === 'result' && r.json).toBe(x.json);
      seen.replayed += 1;
      return;
    }
    case 'outcome': {
      const x = pick(w.sent, op.pick);
      if (!x) return;
      await w.core.outcome(x.req.deviceId, JSON.stringify({ v: 1, type: 'outcome', requestId: `0189${String(op.pick % 1e4).padStart(4, '0')}-0000-7000-8000-${x.req.requestId.slice(-12)}`, sentAt: w.clock.now, deviceId: x.req.deviceId, settleRequestId: x.req.requestId, outcome: op.success ? 'dispensed' : 'vend-failed' }));
      return;
    }
    case 'cancel': {
      const x = pick(w.sent, op.pick);
      if (x) await w.core.cancel({ deviceId: x.req.deviceId, requestId: x.req.requestId }).catch(() => undefined);
      return;
    }
    case 'time':
      w.clock.advance(op.ms);
      await w.core.runDue();
      return;
    case 'integrate':
      await integrate(w.store, undefined, w.clock.read);
      seen.integrations += 1;
      return;
    case 'crash-before-credits':
      // The next unit that owes credits dies after its servers committed; the process is gone and starts again.
      w.crashNext = true;
      w.clock.advance(61_000);
      await w.core.runDue().catch(() => undefined);
      await integrate(w.store, undefined, w.clock.read).catch(() => undefined);
      if (w.crashNext) {
        w.crashNext = false; // nothing owed credits this time
        return;
      }
      seen.crashes += 1;
      await w.core.close();
      await open(w);
      return;
    case 'restart':
      await w.core.close();
      await open(w);
      seen.restarts += 1;
      return;
  }
}

async function auditOk(w: World): Promise<ShardedAuditReport> {
  const report = (await w.core.audit()) as ShardedAuditReport;
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  return report;
}

describe('sharded store under random runs', () => {
  it('keeps the audit passing after every step, and finishes everything on recovery', async () => {
    await fc.assert(fc.asyncProperty(fc.array(Op, { minLength: 5, maxLength: 30 }), async (ops) => {
      const t = tempDir('tapsettle-sharded-prop-');
      const w = { dir: t.dir, clock: new Clock(), crashNext: false, sent: [] } as unknown as World;
      try {
        await open(w);
        w.s = await seedShardedStation(w.core, w.clock, [3000, 3000, 3000, 200, 3000, 3000], 600);
        w.hotShop = (await w.core.openAccount({ kind: 'merchant', branch: 150, currency: 'EUR', name: 'Hot shop' })).id;
        w.hotDevice = 'kiosk-hot';
        await w.core.registerDevice({ id: w.hotDevice, kind: 'kiosk', merchant: w.hotShop });
        await markHot(w.store, w.hotShop);
        for (const op of ops) {
          await step(w, op);
          await auditOk(w);
        }
        w.clock.advance(120_000);
        await w.core.runDue();
        await integrate(w.store, undefined, w.clock.read);
        await w.core.close();
        await open(w);
        const report = await auditOk(w);
        expect(report.inFlight.count).toBe(0);
        expect(report.hot[w.hotShop]?.auxiliaries).toBe(0);
        for (const x of w.sent) expect((await w.store.getJournalEntry({ deviceId: x.req.deviceId, requestId: x.req.requestId }))?.resultJson).toBe(x.json);
        expect(await w.core.store.countJournalByState()).not.toHaveProperty('withdrawn');
      } finally {
        await w.core.close();
        t.cleanup();
      }
    }), { numRuns: 40 });
    console.log(`sharded property runs: ${JSON.stringify(seen)}`);
    expect(seen.approved).toBeGreaterThan(0);
    expect(seen.integrations).toBeGreaterThan(0);
    expect(seen.crashes).toBeGreaterThan(0);
  }, 240_000);
});
