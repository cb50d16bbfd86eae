/** Claims 5–7 over HTTP: a wallet gets its own statement, with a fresh proof, and nobody else's. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeRequest, settleOk } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { uuidv7 } from '../../../protocol/index.ts';
import { call, errorCodeOf, signed, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

let h: Harness;
let w0: TestWallet;
let w1: TestWallet;
const path = (w: TestWallet) => `/v1/wallets/${w.walletId}/statement`;

interface Statement {
  walletId: string;
  account: string;
  lines: { transferId: number; amount: number; balanceAfter: number; counterparty: string; kind: string }[];
  nextBefore: number | null;
}

beforeAll(async () => {
  h = await startHarness();
  [w0, w1] = h.station.wallets as [TestWallet, TestWallet];
  for (let i = 0; i < 3; i += 1) await settleOk(h.station, makeRequest(h.station, w0, { amount: 100 + i }));
  for (let i = 0; i < 2; i += 1) await settleOk(h.station, makeRequest(h.station, w1, { amount: 700 + i }));
  await h.station.core.drain();
});
afterAll(() => h.close());

describe('GET /v1/wallets/{w}/statement', () => {
  it('returns exactly the wallet\'s own account lines, newest first', async () => {
    const r = await call(signed(h.base, w0, 'GET', path(w0)));
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const s = r.body as Statement;
    expect(s.walletId).toBe(w0.walletId);
    expect(s.account).toBe(w0.account);
    const expected = await h.station.core.store.statement(w0.account, { limit: 50 });
    expect(s.lines).toEqual(JSON.parse(JSON.stringify(expected)));
    // The seed's funding and three withdrawals; none of w1's 700s.
    expect(s.lines.map((l) => l.amount)).toEqual([-102, -101, -100, 10_000]);
    expect(s.nextBefore).toBeNull();
  });

  it('pages with before/limit and filters by time, all covered by the proof', async () => {
    const first = (await call(signed(h.base, w0, 'GET', path(w0), { params: { limit: '2' } }))).body as Statement;
    expect(first.lines.map((l) => l.amount)).toEqual([-102, -101]);
    expect(first.nextBefore).toBe(first.lines[1]!.transferId);
    const second = (await call(signed(h.base, w0, 'GET', path(w0), { params: { limit: '2', before: String(first.nextBefore) } }))).body as Statement;
    expect(second.lines.map((l) => l.amount)).toEqual([-100, 10_000]);
    const later = (await call(signed(h.base, w0, 'GET', path(w0), { params: { from: String(h.clock.now + 1) } }))).body as Statement;
    expect(later.lines).toEqual([]);
  });

  it('refuses another wallet\'s statement with this wallet\'s proof, and reads nothing', async () => {
    const statement = vi.spyOn(h.station.core.store, 'statement');
    try {
      // w0's key signs a request for w1's path: the core checks it under w1's key.
      const r = await call(signed(h.base, w1, 'GET', path(w1), { signAs: w0 }));
      expect(r.status).toBe(401);
      expect(errorCodeOf(r)).toBe('TS_ERR_BAD_PROOF');
      expect(r.text).not.toContain(w1.account);
      expect(statement).not.toHaveBeenCalled();
    } finally {
      statement.mockRestore();
    }
  });

  it('refuses a replayed counter', async () => {
    const s = signed(h.base, w0, 'GET', path(w0));
    expect((await call(s)).status).toBe(200);
    const again = await call(s);
    expect(again.status).toBe(401);
    expect(errorCodeOf(again)).toBe('TS_ERR_COUNTER_REUSED');
    // An older counter, freshly signed, is a replay too.
    const older = await call(signed(h.base, w0, 'GET', path(w0), { counter: s.counter - 1 }));
    expect(errorCodeOf(older)).toBe('TS_ERR_COUNTER_REUSED');
  });

  it('refuses a query changed in flight', async () => {
    const changed = await call(signed(h.base, w0, 'GET', path(w0), { params: { limit: '1' }, sendParams: { limit: '200' } }));
    expect(changed.status).toBe(401);
    expect(errorCodeOf(changed)).toBe('TS_ERR_BAD_PROOF');
    const added = await call(signed(h.base, w0, 'GET', path(w0), { params: {}, sendParams: { from: '0' } }));
    expect(errorCodeOf(added)).toBe('TS_ERR_BAD_PROOF');
    const dropped = await call(signed(h.base, w0, 'GET', path(w0), { params: { to: '5' }, sendParams: {} }));
    expect(errorCodeOf(dropped)).toBe('TS_ERR_BAD_PROOF');
    const s = signed(h.base, w0, 'GET', path(w0), { params: { limit: '1' } });
    const twice = await call({ ...s, url: `${s.url}&limit=1` });
    expect(twice.status).toBe(400);
    expect(errorCodeOf(twice)).toBe('TS_ERR_INVALID_QUERY');
    // The refusals consumed no counter: the signed request still works.
    expect((await call(s)).status).toBe(200);
  });

  it('answers missing, malformed and unknown proofs, bad queries and a blocked wallet with codes', async () => {
    const plain = await fetch(`${h.base}${path(w0)}`);
    expect(plain.status).toBe(401);
    expect(errorCodeOf({ body: await plain.json(), headers: plain.headers })).toBe('TS_ERR_PROOF_MISSING');
    const s = signed(h.base, w0, 'GET', path(w0));
    const badMac = await call({ ...s, init: { ...s.init, headers: { ...s.init.headers, 'x-tapsettle-mac': 'XYZ' } } });
    expect([badMac.status, errorCodeOf(badMac)]).toEqual([401, 'TS_ERR_BAD_PROOF']);
    const badCounter = await call({ ...s, init: { ...s.init, headers: { ...s.init.headers, 'x-tapsettle-counter': '-1' } } });
    expect([badCounter.status, errorCodeOf(badCounter)]).toEqual([401, 'TS_ERR_BAD_PROOF']);
    const stranger: TestWallet = { ...w0, walletId: uuidv7(h.clock.now) };
    const unknown = await call(signed(h.base, stranger, 'GET', path(stranger)));
    expect([unknown.status, errorCodeOf(unknown)]).toEqual([401, 'TS_ERR_BAD_PROOF']);
    const badQuery = await call(signed(h.base, w0, 'GET', path(w0), { params: { limit: '0' } }));
    expect([badQuery.status, errorCodeOf(badQuery)]).toEqual([400, 'TS_ERR_INVALID_QUERY']);
    const unknownParam = await call(signed(h.base, w0, 'GET', path(w0), { params: { account: w1.account } }));
    expect([unknownParam.status, errorCodeOf(unknownParam)]).toEqual([400, 'TS_ERR_INVALID_QUERY']);
    const badId = await fetch(`${h.base}/v1/wallets/not-a-wallet/statement`);
    expect(badId.status).toBe(400);
    await h.station.core.setWalletStatus(w1.walletId, 'blocked');
    const blocked = await call(signed(h.base, w1, 'GET', path(w1)));
    expect([blocked.status, errorCodeOf(blocked)]).toEqual([403, 'TS_ERR_WALLET_NOT_ACTIVE']);
    await h.station.core.setWalletStatus(w1.walletId, 'active');
  });
});
