/**
 * Hot accounts (claims 22–23): every payment goes to one shop whose main
 * file is on server 2; deposits land in the auxiliary on each payer's
 * server; integration runs concurrently (periodic and on demand); the merged
 * statement and the audit prove the totals. A crash inside an integration is
 * finished by recovery.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SettlementCore, StatementLine } from '../../../settlement-core/index.ts';
import { integrate, markHot, startIntegration } from '../../../settlement-core/store/sharded/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, balanceOf, makeRequest, settleOk, tempDir } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

let t: ReturnType<typeof tempDir>;
let clock: Clock;
let store: ShardedLedgerStore;
let core: SettlementCore;
let s: Station;
let crashBeforeCredits = false;

async function open(): Promise<void> {
  store = openSqliteSharded(t.dir, 3, { faults: { beforeCredits: () => { if (crashBeforeCredits) throw new Error('crash: integration credits never delivered'); } } });
  core = await openShardedCore(store, { clock: clock.read });
}

async function auditOk(): Promise<ShardedAuditReport> {
  const report = (await core.audit()) as ShardedAuditReport;
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  return report;
}

/** The whole merged statement, page by page. */
async function fullStatement(id: string): Promise<StatementLine[]> {
  const out: StatementLine[] = [];
  for (let before: number | undefined; ;) {
    const page = await core.store.statement(id, { limit: 7, ...(before !== undefined ? { beforeTransferId: before } : {}) });
    out.push(...page);
    if (page.length < 7) return out;
    before = page[page.length - 1]!.transferId;
  }
}

beforeEach(async () => {
  t = tempDir('tapsettle-sharded-hot-');
  clock = new Clock();
  crashBeforeCredits = false;
  await open();
  s = await seedShardedStation(core, clock, Array.from({ length: 12 }, () => 100_000));
  await markHot(store, s.merchant);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

describe('a hot shop', () => {
  it('takes every payment into the auxiliary on the payer\'s server while integration runs, and the totals add up', async () => {
    const periodic = startIntegration(store, 15, clock.read);
    let total = 0;
    for (let round = 0; round < 8; round += 1) {
      const replies = await Promise.all(s.wallets.map((w, i) => settleOk(s, makeRequest(s, w, { amount: 10 + i + round }))));
      for (const [i, r] of replies.entries()) {
        expect(r.result.status).toBe('approved');
        total += 10 + i + round;
      }
      clock.advance(3);
      if (round % 3 === 1) await integrate(store, undefined, clock.read); // on demand, beside the periodic job
      await new Promise((r) => setTimeout(r, 10));
    }
    await core.drain();
    expect(await balanceOf(core, s.merchant)).toBe(total);
    const middle = await auditOk();
    expect(middle.hot[s.merchant]!.main + middle.hot[s.merchant]!.auxiliaries).toBe(total);
    periodic.stop();
    expect(periodic.failures).toBe(0);
    expect(periodic.runs).toBeGreaterThan(0);

    const moved = await integrate(store, undefined, clock.read);
    const after = await auditOk();
    expect(after.hot[s.merchant]).toEqual({ main: total, auxiliaries: 0 });
    expect(after.inFlight.count).toBe(0);
    expect(moved.moved[s.merchant]?.amount ?? 0).toBe(middle.hot[s.merchant]!.auxiliaries);
    // No deposit crossed servers: every credit there is an integration's.
    const lines = await fullStatement(s.merchant);
    expect(lines[0]!.balanceAfter).toBe(total);
    const deposits = lines.filter((l) => l.counterparty === '000-0000002' && l.journalRequestId !== null);
    expect(deposits.reduce((a, l) => a + l.amount, 0)).toBe(total);
    // Merged newest first: each line's balance after is the one before it minus that line.
    for (let i = 0; i + 1 < lines.length; i += 1) expect(lines[i]!.balanceAfter - lines[i]!.amount).toBe(lines[i + 1]!.balanceAfter);
    expect(lines[lines.length - 1]!.balanceAfter).toBe(lines[lines.length - 1]!.amount);
  });

  it('finishes an integration cut short between the auxiliary\'s send and the main file\'s credit', async () => {
    await Promise.all(s.wallets.map((w) => settleOk(s, makeRequest(s, w, { amount: 25 }))));
    await core.drain();
    crashBeforeCredits = true;
    await expect(integrate(store, undefined, clock.read)).rejects.toThrow(/crash/);
    const cut = await store.audit();
    expect(cut.inFlight.count).toBe(2); // the auxiliaries on servers 0 and 1 sent; the main file on server 2 has not received
    expect(cut.checks.filter((c) => !c.ok)).toEqual([]);
    crashBeforeCredits = false;
    await core.close();
    await open();
    const report = await auditOk();
    expect(report.inFlight.count).toBe(0);
    expect(report.hot[s.merchant]).toEqual({ main: 25 * 12, auxiliaries: 0 }); // four payers paid into the main file, eight into auxiliaries, now integrated
    expect(await balanceOf(core, s.merchant)).toBe(25 * 12);
  });

  it('refuses to make a customer, an unknown account or a non-id hot, with a coded error', async () => {
    await expect(markHot(store, s.wallets[0]!.account)).rejects.toMatchObject({ code: 'TS_ERR_HOT_ACCOUNT' });
    await expect(markHot(store, '700-0000042')).rejects.toMatchObject({ code: 'TS_ERR_HOT_ACCOUNT' });
    await expect(markHot(store, 'shop')).rejects.toMatchObject({ code: 'TS_ERR_HOT_ACCOUNT' });
    await expect(integrate(store, [s.wallets[0]!.account])).rejects.toMatchObject({ code: 'TS_ERR_HOT_ACCOUNT' });
    expect(() => startIntegration(store, 0)).toThrow(expect.objectContaining({ code: 'TS_ERR_SHARDED_OPTION' }) as Error);
  });
});
