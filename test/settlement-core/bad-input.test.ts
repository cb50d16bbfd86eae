/**
 * Fuzzed settle and outcome bodies against a live core: it never throws,
 * answers a coded decline (or says the body is unreadable), stays up, and
 * loses nothing it had already accepted.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reasonCodes } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { Clock, balanceOf, makeRequest, openCore, seedStation, settleOk, tempDir } from './fixtures.ts';
import type { Station } from './fixtures.ts';

let t: ReturnType<typeof tempDir>;
let core: SettlementCore;
let s: Station;

beforeAll(async () => {
  t = tempDir();
  const clock = new Clock();
  core = await openCore(`${t.dir}/ledger.db`, { clock: clock.read });
  s = await seedStation(core, clock, [{ balance: 100_000 }]);
});
afterAll(async () => {
  await core.close();
  t.cleanup();
});

const mutate = (base: Record<string, unknown>) => fc.oneof(
  fc.anything().map((v) => v),
  fc.json().map((j) => j),
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.constantFrom(...Object.keys(base)), fc.anything()).map(([k, v]) => JSON.stringify({ ...base, [k]: v })),
  fc.tuple(fc.constantFrom('purchase', 'wallet'), fc.string(), fc.anything()).map(([k, kk, v]) => JSON.stringify({ ...base, [k]: { ...(base[k] as object), [kk]: v } })),
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
);

describe('bad input', () => {
  it('answers every fuzzed body with a coded result and keeps accepted money where it was', async () => {
    const accepted = await settleOk(s, makeRequest(s, s.wallets[0]!, { amount: 1234 }));
    expect(accepted.result.status).toBe('approved');
    const base = makeRequest(s, s.wallets[0]!) as unknown as Record<string, unknown>;
    await fc.assert(fc.asyncProperty(mutate(base), async (body) => {
      const payload = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body : JSON.stringify(body) ?? 'undefined';
      const reply = await core.settle(s.device, payload);
      if (reply.kind === 'unreadable') expect(reasonCodes).toContain(reply.reason);
      else if (reply.result.status === 'declined') expect(reasonCodes).toContain(reply.result.reason);
      const outcome = await core.outcome(s.device, payload);
      expect(['unreadable', 'outcome-ack']).toContain(outcome.kind);
    }), { numRuns: 1500 });
    await core.drain();
    await core.runDue();
    const again = await settleOk(s, makeRequest(s, s.wallets[0]!, { amount: 1, requestId: accepted.result.requestId }));
    expect(again.result.reason).toBe('duplicate-mismatch');
    expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: accepted.result.requestId }))?.state).toBe('deposited');
    expect(await balanceOf(core, s.merchant)).toBeGreaterThanOrEqual(1234);
    expect((await core.audit()).ok).toBe(true);
  });
});
