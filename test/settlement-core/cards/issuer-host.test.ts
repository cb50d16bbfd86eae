/** The issuer host as an HTTP service: only the acquirer may ask; bad input gets a coded 4xx (fuzzed); a failing database answers 96, stored nowhere. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationResponse, startIssuerHost } from '../../../settlement-core/cards/index.ts';
import type { IssuerHost } from '../../../settlement-core/cards/index.ts';
import { acquirerToken, addCards, authRequest, cards, clock, pepper, tempDir } from './fixtures.ts';

let host: IssuerHost;
let t: { dir: string; cleanup: () => void };
beforeAll(async () => {
  t = tempDir();
  host = await startIssuerHost({ dbPath: `${t.dir}/issuer.db`, pepper, acquirerToken, port: 0, host: '127.0.0.1', clock });
  addCards(host.store);
});
afterAll(async () => {
  await host.close();
  t.cleanup();
});

async function post(body: string | Uint8Array, o: { token?: string | null; type?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': o.type ?? 'application/json' };
  if (o.token !== null) headers.authorization = `Bearer ${o.token ?? acquirerToken}`;
  const res = await fetch(`${host.url}/v1/authorizations`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as unknown };
}
const codeOf = (r: { body: unknown }): string => (r.body as { error: { code: string } }).error.code;

describe('the issuer host over HTTP', () => {
  it('decides an authorization and answers a resend with the same bytes', async () => {
    const req = JSON.stringify(authRequest(cards.good, { minor: 100 }));
    const first = await post(req);
    expect(first.status).toBe(200);
    expect(AuthorizationResponse.parse(first.body).responseCode).toBe('00');
    expect((await post(req)).text).toBe(first.text);
  });

  it('answers only the acquirer: no token or a wrong one is 401 TS_ERR_CARD_ACQUIRER', async () => {
    const req = JSON.stringify(authRequest(cards.good));
    for (const token of [null, 'x', `${acquirerToken}x`]) {
      const r = await post(req, { token });
      expect(r.status).toBe(401);
      expect(codeOf(r)).toBe('TS_ERR_CARD_ACQUIRER');
    }
  });

  it('refuses the same id with other content: 409 TS_ERR_CARD_DUPLICATE_MISMATCH', async () => {
    const req = authRequest(cards.good, { minor: 100 });
    await post(JSON.stringify(req));
    const r = await post(JSON.stringify({ ...req, amount: { minor: 101, currency: 'EUR' } }));
    expect(r.status).toBe(409);
    expect(codeOf(r)).toBe('TS_ERR_CARD_DUPLICATE_MISMATCH');
  });

  it('answers coded errors for a large body, another media type, an unknown route', async () => {
    const large = await post(JSON.stringify({ pad: 'x'.repeat(5000) }));
    expect([large.status, codeOf(large)]).toEqual([413, 'TS_ERR_BODY_TOO_LARGE']);
    const text = await post('{}', { type: 'text/plain' });
    expect([text.status, codeOf(text)]).toEqual([415, 'TS_ERR_UNSUPPORTED_MEDIA_TYPE']);
    const res = await fetch(`${host.url}/v1/nothing`);
    expect(res.status).toBe(404);
  });

  it('answers fuzzed bodies with a coded 4xx that never echoes digits, and stays up', async () => {
    const genuine = authRequest(cards.good) as unknown as Record<string, unknown>;
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.tuple(fc.constantFrom(...Object.keys(genuine), 'extra'), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ ...genuine, [k]: v })),
      fc.constantFrom('', '{', 'null', '[]', '{"__proto__":{"v":1}}'),
    );
    await fc.assert(fc.asyncProperty(body, async (b) => {
      const r = await post(b);
      if (r.status === 200) {
        AuthorizationResponse.parse(r.body);
        return;
      }
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(codeOf(r)).toMatch(/^TS_ERR_[A-Z_]+$/);
      expect(r.text).not.toMatch(/\d{8}/);
    }), { numRuns: 200, seed: 8583 });
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  });
});

describe('a failing issuer database', () => {
  it('answers 96 (not stored, so a resend is decided later) and /healthz says 503', async () => {
    const d = tempDir();
    const h = await startIssuerHost({ dbPath: `${d.dir}/issuer.db`, pepper, acquirerToken, port: 0, host: '127.0.0.1', clock });
    try {
      addCards(h.store);
      h.store.close();
      const res = await fetch(`${h.url}/v1/authorizations`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${acquirerToken}` }, body: JSON.stringify(authRequest(cards.good)) });
      expect(res.status).toBe(200);
      expect(AuthorizationResponse.parse(await res.json())).toMatchObject({ responseCode: '96', approved: false, cardToken: null });
      expect((await fetch(`${h.url}/healthz`)).status).toBe(503);
    } finally {
      await h.close();
      d.cleanup();
    }
  });

  it('refuses to start with a short acquirer token or a short pepper', async () => {
    const d = tempDir();
    try {
      await expect(startIssuerHost({ dbPath: `${d.dir}/i.db`, pepper, acquirerToken: 'short', port: 0, host: '127.0.0.1' })).rejects.toMatchObject({ code: 'TS_ERR_CARD_INVALID_ARGUMENT' });
      await expect(startIssuerHost({ dbPath: `${d.dir}/i.db`, pepper: Buffer.alloc(8), acquirerToken, port: 0, host: '127.0.0.1' })).rejects.toMatchObject({ code: 'TS_ERR_CARD_INVALID_ARGUMENT' });
    } finally {
      d.cleanup();
    }
  });
});
