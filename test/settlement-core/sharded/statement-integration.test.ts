/**
 * A hot account's merged statement across an integration: every line's
 * balance after follows from the lines below it, paged or not, and the
 * newest one is the account's logical balance — with the home server the
 * lowest-numbered one (auxiliaries on higher servers) and the highest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SettlementCore, StatementLine } from '../../../settlement-core/index.ts';
import { integrate, markHot } from '../../../settlement-core/store/sharded/index.ts';
import type { ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, balanceOf, makeRequest, settleOk, tempDir } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

let t: ReturnType<typeof tempDir> | undefined;
let core: SettlementCore | undefined;
afterEach(async () => {
  await core?.close();
  t?.cleanup();
  core = undefined;
  t = undefined;
});

/** The whole merged statement, page by page (`limit` lines a page). */
async function pages(c: SettlementCore, id: string, limit: number): Promise<StatementLine[][]> {
  const out: StatementLine[][] = [];
  for (let before: number | undefined; ;) {
    const page = await c.store.statement(id, { limit, ...(before !== undefined ? { beforeTransferId: before } : {}) });
    out.push(page);
    if (page.length < limit) return out;
    before = page[page.length - 1]!.transferId;
  }
}

/** Newest first: each line's balance after is the next older one's plus its own amount (signed in the account's direction); the oldest starts from 0. */
function expectRunningBalance(lines: readonly StatementLine[]): void {
  const running = lines.map(() => 0);
  for (let i = lines.length - 1; i >= 0; i -= 1) running[i] = (i + 1 < lines.length ? running[i + 1]! : 0) + lines[i]!.amount;
  expect(lines.map((l) => l.balanceAfter)).toEqual(running);
}

async function hotShop(merchantBranch: number): Promise<{ s: Station; store: ShardedLedgerStore; clock: Clock }> {
  t = tempDir('tapsettle-sharded-statement-');
  const clock = new Clock();
  const store = openSqliteSharded(t.dir, 3);
  core = await openShardedCore(store, { clock: clock.read });
  const s = await seedShardedStation(core, clock, Array.from({ length: 6 }, () => 10_000), merchantBranch);
  await markHot(store, s.merchant);
  return { s, store, clock };
}

/** Payments from payers on every server, an integration, more payments, a second integration and a last round. */
async function payAndIntegrate(s: Station, store: ShardedLedgerStore, clock: Clock): Promise<number> {
  let total = 0;
  const round = async (base: number) => {
    for (const [i, w] of s.wallets.entries()) {
      clock.advance(1);
      expect((await settleOk(s, makeRequest(s, w, { amount: base + i }))).result.status).toBe('approved');
      total += base + i;
    }
    await s.core.drain();
  };
  await round(100);
  clock.advance(5);
  expect(Object.values((await integrate(store, undefined, clock.read)).moved)).not.toEqual([]);
  await round(200);
  clock.advance(5);
  await integrate(store, undefined, clock.read);
  await round(300);
  return total;
}

describe('a hot account\'s merged statement across an integration', () => {
  for (const [name, branch, home] of [['lowest', 20, 0], ['highest', 500, 2]] as const) {
    it(`follows the logical balance line by line, paged or not, with the home server the ${name}-numbered one`, async () => {
      const { s, store, clock } = await hotShop(branch);
      expect(store.directory.serverFor(s.merchant)).toBe(home);
      const total = await payAndIntegrate(s, store, clock);
      expect(await balanceOf(s.core, s.merchant)).toBe(total);

      const all = await s.core.store.statement(s.merchant, { limit: 1_000 });
      expect(all[0]!.balanceAfter).toBe(total);
      expectRunningBalance(all);
      for (const limit of [1, 2, 3, 5, 7]) {
        const paged = await pages(s.core, s.merchant, limit);
        for (const p of paged.slice(0, -1)) expect(p).toHaveLength(limit);
        expect(paged.flat()).toEqual(all);
      }
    });
  }
});
