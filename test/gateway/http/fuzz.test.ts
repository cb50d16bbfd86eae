/** Bad input on every POST route (and the wallet paths): always a coded JSON 4xx, never a 5xx; the server stays up and still works. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRequest } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { SettleResult } from '../../../protocol/index.ts';
import { call, errorCodeOf, signed, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

let h: Harness;
let w0: TestWallet;
beforeAll(async () => {
  h = await startHarness();
  w0 = h.station.wallets[0]!;
});
afterAll(() => h.close());

const runs = 200;
const seed = 20_240_601;

/** Bytes that are not JSON, JSON that is not an object, objects of the wrong shape, and bodies over the limit. */
const badBody = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', 'null', '[]', '"x"', '1e999', '{"code":null}'),
  fc.integer({ min: 4097, max: 20_000 }).map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
);
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded');

async function expectCodedClientError(r: { status: number; body: unknown; headers: Headers }): Promise<void> {
  expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
  expect(errorCodeOf(r)).toMatch(/^TS_ERR_[A-Z_]+$/);
  await Promise.resolve();
}

const send = (path: string, body: string | Uint8Array, type: string, headers: Record<string, string> = {}) =>
  call({ url: `${h.base}${path}`, init: { method: 'POST', headers: { 'content-type': type, ...headers }, body }, counter: 0 });

describe('fuzzed bodies', () => {
  it('POST /v1/enrollments', async () => {
    await fc.assert(fc.asyncProperty(badBody, contentType, async (body, type) => {
      await expectCodedClientError(await send('/v1/enrollments', body, type));
    }), { numRuns: runs, seed });
  });

  it('POST /v1/settle', async () => {
    await fc.assert(fc.asyncProperty(badBody, contentType, async (body, type) => {
      await expectCodedClientError(await send('/v1/settle', body, type));
    }), { numRuns: runs, seed });
  });

  it('POST /v1/settle with one field of a genuine request replaced: a coded error or a result, approved only if what changed is outside the cryptogram', async () => {
    const base = makeRequest(h.station, w0) as unknown as Record<string, unknown>;
    const keys = Object.keys(base);
    await fc.assert(fc.asyncProperty(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 }), async (key, value) => {
      const r = await send('/v1/settle', JSON.stringify({ ...base, [key]: value }), 'application/json');
      // sentAt is neither authenticated nor part of the request's content: a valid one settles (once; then replays).
      if (r.status === 200) expect(SettleResult.parse(r.body).status === 'declined' || key === 'sentAt').toBe(true);
      else await expectCodedClientError(r);
    }), { numRuns: runs, seed });
  });

  it('POST /v1/wallets/{w}/cancel, unsigned and signed', async () => {
    const path = `/v1/wallets/${w0.walletId}/cancel`;
    await fc.assert(fc.asyncProperty(badBody, contentType, fc.boolean(), async (body, type, sign) => {
      if (!sign) return expectCodedClientError(await send(path, body, type));
      const text = typeof body === 'string' ? body : Buffer.from(body).toString('latin1');
      const s = signed(h.base, w0, 'POST', path, { body: text });
      return expectCodedClientError(await call({ ...s, init: { ...s.init, headers: { ...s.init.headers, 'content-type': type } } }));
    }), { numRuns: runs, seed });
  });

  it('fuzzed proof headers and wallet ids on the GET routes', async () => {
    const header = fc.oneof(fc.string({ maxLength: 80 }).filter((v) => /^[\x20-\x7e]*$/.test(v)), fc.nat().map(String), fc.constant('1'.repeat(64)));
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 60 }), header, header, fc.constantFrom('statement', 'results', `results/${w0.walletId}`), async (id, counter, mac, tail) => {
      const url = `${h.base}/v1/wallets/${encodeURIComponent(id)}/${tail}`;
      const res = await fetch(url, { headers: { 'x-tapsettle-counter': counter, 'x-tapsettle-mac': mac } });
      const text = await res.text();
      await expectCodedClientError({ status: res.status, body: JSON.parse(text), headers: res.headers });
    }), { numRuns: runs, seed });
  });

  it('the server is still up and a valid request still works afterwards', async () => {
    const health = await fetch(`${h.base}/healthz`);
    expect(health.status).toBe(200);
    await health.body?.cancel();
    const req = makeRequest(h.station, w0, { amount: 42 });
    const r = await send('/v1/settle', JSON.stringify(req), 'application/json');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ requestId: req.requestId, status: 'approved' });
    const code = h.codes.issue(w0.account, 60_000);
    expect((await send('/v1/enrollments', JSON.stringify({ code }), 'application/json')).status).toBe(201);
    expect((await call(signed(h.base, w0, 'GET', `/v1/wallets/${w0.walletId}/statement`))).status).toBe(200);
    expect((await h.station.core.audit()).ok).toBe(true);
  });
});
