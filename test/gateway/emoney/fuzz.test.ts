/**
 * Bad input on the e-money routes: fuzzed bodies (unsigned and signed),
 * fuzzed fields in otherwise valid bodies, fuzzed inbox queries. Always a
 * coded JSON 4xx or a coded decision, never a 5xx; the server stays up and
 * the ledger stays sound.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, uuidv7 } from '../../../protocol/index.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { call, errorCodeOf, signed, startHarness } from '../http/harness.ts';
import type { Harness } from '../http/harness.ts';

const issuer = generateSigningKeyPair('issuer-emoney-fuzz');
let h: Harness;
let w0: TestWallet;
let w1: TestWallet;
beforeAll(async () => {
  h = await startHarness({ core: { ticketIssuer: { keyId: issuer.keyId, pair: issuer } } });
  [w0, w1] = h.station.wallets as [TestWallet, TestWallet];
});
afterAll(() => h.close());

const runs = 120;
const seed = 34_35;

const badBody = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{', '{"__proto__":{"x":1}}', 'null', '[]', '{"requestId":null}', '{"tokens":[]}', '{"amount":{"minor":1e999}}'),
  fc.integer({ min: 16_400, max: 40_000 }).map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
);

function expectCoded4xx(r: { status: number; body: unknown; headers: Headers }): void {
  expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
  expect(errorCodeOf(r)).toMatch(/^TS_ERR_[A-Z_]+$/);
}

const path = (w: TestWallet, route: string) => `/v1/wallets/${w.walletId}/emoney/${route}`;

describe('fuzzed e-money input', () => {
  for (const route of ['issue', 'deposit']) {
    it(`POST …/emoney/${route}: unsigned and signed garbage gets a coded 4xx`, async () => {
      await fc.assert(fc.asyncProperty(badBody, fc.boolean(), async (body, sign) => {
        const text = typeof body === 'string' ? body : Buffer.from(body).toString('latin1');
        const req = sign
          ? signed(h.base, w0, 'POST', path(w0, route), { body: text })
          : { url: `${h.base}${path(w0, route)}`, init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: text }, counter: 0 };
        expectCoded4xx(await call(req));
      }), { numRuns: runs, seed });
    });
  }

  it('issue bodies with one field replaced by anything: a coded 4xx or a coded decision', async () => {
    const field = fc.constantFrom('requestId', 'amount', 'recipient', 'extra');
    await fc.assert(fc.asyncProperty(field, fc.jsonValue({ maxDepth: 2 }), async (name, value) => {
      const body = { requestId: uuidv7(), amount: { minor: 5, currency: 'EUR' }, recipient: w1.walletId, [name]: value };
      const r = await call(signed(h.base, w0, 'POST', path(w0, 'issue'), { body: JSON.stringify(body) }));
      if (r.status === 200) expect(r.body).toMatchObject({ status: expect.stringMatching(/^(issued|declined)$/) as unknown });
      else expectCoded4xx(r);
    }), { numRuns: runs, seed });
  });

  it('deposit bodies with token fields replaced by anything: a coded 4xx or a coded refusal', async () => {
    const issued = await call(signed(h.base, w0, 'POST', path(w0, 'issue'), { body: JSON.stringify({ requestId: uuidv7(), amount: { minor: 7, currency: 'EUR' }, recipient: w1.walletId }) }));
    const token = (issued.body as { tokens: Record<string, unknown>[] }).tokens[0]!;
    const field = fc.constantFrom('serial', 'amount', 'holder', 'issuedAt', 'float', 'keyId', 'sig', 'extra');
    await fc.assert(fc.asyncProperty(field, fc.jsonValue({ maxDepth: 2 }), async (name, value) => {
      const body = { requestId: uuidv7(), tokens: [{ ...token, [name]: value }] };
      const r = await call(signed(h.base, w1, 'POST', path(w1, 'deposit'), { body: JSON.stringify(body) }));
      if (r.status === 200) expect(r.body).toMatchObject({ status: 'refused', reason: expect.any(String) as unknown });
      else expectCoded4xx(r);
    }), { numRuns: runs, seed });
    // The genuine token is still unspent and deposits.
    const ok = await call(signed(h.base, w1, 'POST', path(w1, 'deposit'), { body: JSON.stringify({ requestId: uuidv7(), tokens: [token] }) }));
    expect(ok.body).toMatchObject({ status: 'deposited' });
  });

  it('GET …/emoney/inbox with fuzzed queries: a coded 400, or a page when the query is valid', async () => {
    const params = fc.dictionary(fc.constantFrom('after', 'limit', 'x', 'before'), fc.oneof(fc.string({ maxLength: 40 }), fc.nat(100).map(String), fc.constant(uuidv7())), { maxKeys: 3 });
    await fc.assert(fc.asyncProperty(params, async (p) => {
      const r = await call(signed(h.base, w1, 'GET', path(w1, 'inbox'), { params: p }));
      if (r.status === 200) expect(r.body).toMatchObject({ walletId: w1.walletId, tokens: expect.any(Array) as unknown });
      else expectCoded4xx(r);
    }), { numRuns: runs, seed });
  });

  it('refuses without the proof, with another wallet\'s proof, and with a reused counter; still serves afterwards and the ledger is sound', async () => {
    const body = JSON.stringify({ requestId: uuidv7(), amount: { minor: 5, currency: 'EUR' }, recipient: w1.walletId });
    const none = await call({ url: `${h.base}${path(w0, 'issue')}`, init: { method: 'POST', headers: { 'content-type': 'application/json' }, body }, counter: 0 });
    expect(errorCodeOf(none)).toBe('TS_ERR_PROOF_MISSING');
    expect(errorCodeOf(await call(signed(h.base, w0, 'POST', path(w0, 'issue'), { body, signAs: w1 })))).toBe('TS_ERR_BAD_PROOF');
    const once = signed(h.base, w0, 'POST', path(w0, 'issue'), { body });
    expect((await call(once)).status).toBe(200);
    expect(errorCodeOf(await call(once))).toBe('TS_ERR_COUNTER_REUSED');
    expect(errorCodeOf(await call(signed(h.base, w0, 'GET', path(w0, 'inbox'), { params: { limit: '33' } })))).toBe('TS_ERR_INVALID_QUERY');
    expect((await h.station.core.audit()).ok).toBe(true);
  });
});
