/**
 * The settlement core on three SQLite servers: settlements between users on
 * different servers (claim 24's withdraw, answer, deposit), with failures
 * injected between the payer's commit and the payee's credit, and between
 * one server's commit and another's. After recovery every entry is final,
 * every credit delivered, and the global audit passes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, balanceOf, makeRequest, settleOk, tempDir } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

let t: ReturnType<typeof tempDir>;
let clock: Clock;
let store: ShardedLedgerStore;
let core: SettlementCore;
let s: Station;
const faults: { beforeCredits?: () => void; afterServerCommit?: (server: number) => void } = {};

async function open(): Promise<void> {
  store = openSqliteSharded(t.dir, 3, { faults: { beforeCredits: () => faults.beforeCredits?.(), afterServerCommit: (x) => faults.afterServerCommit?.(x) } });
  core = await openShardedCore(store, { clock: clock.read });
}

/** What a crash leaves behind: the process's memory is gone; the next start recovers from the servers alone. */
async function crashAndRestart(): Promise<void> {
  delete faults.beforeCredits;
  delete faults.afterServerCommit;
  await core.close().catch(() => undefined);
  await open();
  if (s) s = { ...s, core };
}

async function auditOk(): Promise<ShardedAuditReport> {
  const report = (await core.audit()) as ShardedAuditReport;
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  return report;
}

beforeEach(async () => {
  t = tempDir('tapsettle-sharded-core-');
  clock = new Clock();
  await open();
  s = await seedShardedStation(core, clock, [1000, 1000, 1000, 500, 500, 500]);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

describe('settlements between servers', () => {
  it('withdraws on the payer\'s server, answers, deposits on the payee\'s, and the audit proves the clearing', async () => {
    for (const w of s.wallets) expect((await settleOk(s, makeRequest(s, w, { amount: 100 }))).result.status).toBe('approved');
    await core.drain();
    expect(await balanceOf(core, s.merchant)).toBe(600);
    expect(await balanceOf(core, '000-0000002')).toBe(0);
    for (const w of s.wallets) expect(await balanceOf(core, w.account)).toBe(w === s.wallets[3] || w === s.wallets[4] || w === s.wallets[5] ? 400 : 900);
    // The merchant's history reads as on one server: deposits from the clearing account, global ids, newest first.
    const lines = await core.store.statement(s.merchant, { limit: 10 });
    expect(lines).toHaveLength(6);
    expect(new Set(lines.map((l) => l.counterparty))).toEqual(new Set(['000-0000002']));
    expect(lines.map((l) => l.kind)).toEqual(Array(6).fill('deposit'));
    expect(lines[0]!.balanceAfter).toBe(600);
    const report = await auditOk();
    expect(report.inFlight.count).toBe(0);
    expect(report.servers).toBe(3);
  });

  it('replays a redelivery byte for byte wherever the entry lives, and refuses a mismatched duplicate', async () => {
    const req = makeRequest(s, s.wallets[1]!, { amount: 70 });
    const first = await settleOk(s, req);
    await core.drain();
    const again = await settleOk(s, { ...req, sentAt: clock.now + 1 });
    expect(again.json).toBe(first.json);
    const other = await settleOk(s, { ...req, purchase: { ...req.purchase, amount: { minor: 1, currency: 'EUR' } } });
    expect(other.result).toMatchObject({ status: 'declined', reason: 'duplicate-mismatch' });
    expect(await balanceOf(core, s.wallets[1]!.account)).toBe(930);
    await auditOk();
  });

  it('reverses a failed vend and cancels a cooling-off purchase on the payer\'s server', async () => {
    const failed = await settleOk(s, makeRequest(s, s.wallets[0]!, { amount: 300, outcomeDeadlineSec: 30 }));
    const cooling = await settleOk(s, makeRequest(s, s.wallets[1]!, { amount: 200, restrictions: { coolingOffSec: 60 } }));
    await core.outcome(s.device, JSON.stringify({ v: 1, type: 'outcome', requestId: '01890000-0000-7000-8000-000000000001', sentAt: clock.now, deviceId: s.device, settleRequestId: failed.result.requestId, outcome: 'vend-failed' }));
    expect(await core.cancel({ deviceId: s.device, requestId: cooling.result.requestId })).toEqual({ status: 'cancelled' });
    await core.drain();
    expect(await balanceOf(core, s.wallets[0]!.account)).toBe(1000);
    expect(await balanceOf(core, s.wallets[1]!.account)).toBe(1000);
    expect(await balanceOf(core, s.merchant)).toBe(0);
    await auditOk();
  });

  it('recovers when the process dies after the payer\'s server committed and before the payee\'s credit', async () => {
    let dropped = 0;
    faults.beforeCredits = () => {
      dropped += 1;
      throw new Error('crash: credits never delivered');
    };
    const replies = await Promise.all(s.wallets.slice(0, 3).map((w) => settleOk(s, makeRequest(s, w, { amount: 50 }))));
    expect(replies.every((r) => r.result.status === 'approved')).toBe(true);
    await core.drain();
    expect(dropped).toBeGreaterThan(0);
    const before = (await store.audit());
    expect(before.inFlight.count).toBeGreaterThan(0); // the sends are durable, the credits are not
    expect(before.checks.filter((c) => !c.ok)).toEqual([]);
    await crashAndRestart();
    expect((await auditOk()).inFlight.count).toBe(0);
    expect(await balanceOf(core, s.merchant)).toBe(150);
  });

  it('recovers when the process dies after the withdrawal, before any deposit: the journal drives the deposit on start', async () => {
    const reply = await settleOk(s, makeRequest(s, s.wallets[1]!, { amount: 80, outcomeDeadlineSec: 5 }));
    expect(reply.result.status).toBe('approved');
    await crashAndRestart();
    expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: reply.result.requestId }))?.state).toBe('withdrawn');
    clock.advance(6000);
    await core.runDue();
    expect(await balanceOf(core, s.wallets[1]!.account)).toBe(1000); // no outcome by the deadline: reversed
    await auditOk();
  });

  it('keeps each server whole when one server commits and the next fails: redeliveries find what committed', async () => {
    const reqs = s.wallets.map((w) => makeRequest(s, w, { amount: 40 }));
    let failedOnce = false;
    faults.afterServerCommit = (server) => {
      if (server === 1 && !failedOnce) {
        failedOnce = true;
        throw new Error('crash: server 1 committed, the rest did not');
      }
    };
    const first = await Promise.all(reqs.map((r) => s.core.settle(r.deviceId, JSON.stringify(r)).then((x) => x, (e: unknown) => e)));
    expect(first.some((x) => x instanceof Error)).toBe(true);
    await crashAndRestart();
    const again = await Promise.all(reqs.map((r) => settleOk(s, r)));
    expect(again.every((r) => r.result.status === 'approved')).toBe(true);
    await core.drain();
    expect(await balanceOf(core, s.merchant)).toBe(240);
    for (const w of s.wallets) expect((await core.store.statement(w.account, { limit: 10 })).filter((l) => l.kind === 'withdraw')).toHaveLength(1);
    await auditOk();
  });
});
