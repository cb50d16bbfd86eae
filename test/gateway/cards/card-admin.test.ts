/**
 * The operator's card routes (gateway/http/card-admin.ts) over real HTTP on
 * 127.0.0.1: a phone pays by card through the wallet API, the operator lists
 * the sale (masked, no card digits) and reverses it — the merchant's balance
 * and the card's open-to-buy come back, once; the token is always required.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CardAuthorizationResult, CardReversalResult } from '../../../gateway/cards/index.ts';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import { startGateway } from '../../../gateway/gateway.ts';
import { cardAuthorizationsDefault, cardAuthorizationsMax } from '../../../gateway/http/card-admin.ts';
import type { AuthorizationView } from '../../../gateway/http/card-admin.ts';
import { ensureIssuerSecrets } from '../../../settlement-core/cards/index.ts';
import { balanceOf } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { call, errorCodeOf, signed } from '../http/harness.ts';
import { badLuhn, cardSetup, cards, panForms, tempDir } from '../../settlement-core/cards/fixtures.ts';
import { cardBody, cardPath, harnessMerchant, pay, startCardHarness } from './harness.ts';
import type { CardHarness } from './harness.ts';

const token = 'admin-token-for-card-tests-0123456789';
const allPans = [...new Set([...Object.values(cards), badLuhn, ...cardSetup.map((c) => c.pan)])];
let h: CardHarness;
let shut: CardHarness;
let w0: TestWallet;

beforeAll(async () => {
  [h, shut] = await Promise.all([
    startCardHarness({ admin: { token }, reversalLimits: { pollMs: 50, retryMs: 100 } }),
    startCardHarness({ admin: {} }),
  ]);
  w0 = h.station.wallets[0]!;
});
afterAll(async () => {
  await h.close();
  await shut.close();
});

type Answer = Awaited<ReturnType<typeof call>>;
const admin = (base: string, path: string, o: { method?: 'GET' | 'POST'; body?: string; auth?: string | null | undefined; contentType?: string } = {}): Promise<Answer> => {
  const headers: Record<string, string> = {};
  const auth = o.auth === undefined ? `Bearer ${token}` : o.auth;
  if (auth !== null) headers.authorization = auth;
  if (o.body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
  return call({ url: `${base}${path}`, init: { method: o.method ?? 'GET', headers, ...(o.body !== undefined ? { body: o.body } : {}) }, counter: 0 });
};
const list = (query = '', o: { auth?: string | null | undefined } = {}) => admin(h.base, `/v1/card-authorizations${query}`, o);
const reverse = (id: string, o: { body?: string; auth?: string | null | undefined; base?: string } = {}) =>
  admin(o.base ?? h.base, `/v1/card-authorizations/${id}/reversal`, { method: 'POST', body: o.body ?? '{"reason":"operator"}', auth: o.auth });
const page = (r: Answer) => r.body as { authorizations: AuthorizationView[]; next: string | null };

/** The body names no card: no PAN (or its first 12 digits), and, ids aside, no run of eight or more digits. */
function expectNoCardDigits(text: string): void {
  for (const pan of allPans) for (const form of panForms(pan)) expect(text.includes(form), `the answer holds the digits of •••• ${pan.slice(-4)}`).toBe(false);
  const withoutIds = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
  expect(withoutIds).not.toMatch(/\d{8,}/);
  expect(text).not.toMatch(/cvv|pin|fingerprint|expiry/i);
}

async function paid(pan: string, minor: number): Promise<CardAuthorizationResult> {
  const r = await pay(h, w0, cardBody(pan, { minor }));
  expect(r.status, r.text).toBe(200);
  return CardAuthorizationResult.parse(r.body);
}

describe('GET /v1/card-authorizations', () => {
  it('lists a sale newest first: who, masked card and token, amount, answer, capture; no card digits', async () => {
    const sale = await paid(cards.good, 1_250);
    const declined = await paid(cards.blocked, 300);
    const r = await list();
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const { authorizations } = page(r);
    expect(authorizations.slice(0, 2).map((a) => a.authorizationId)).toEqual([declined.authorizationId, sale.authorizationId]);
    expect(authorizations[1]).toEqual({
      authorizationId: sale.authorizationId, who: { kind: 'wallet', id: w0.walletId },
      card: { masked: '•••• •••• •••• 4242', last4: '4242', token: h.tokens.get(cards.good) }, amount: { minor: 1_250, currency: 'EUR' },
      merchant: harnessMerchant, mcc: '5814', responseCode: '00', source: 'issuer', final: true, attempts: 1,
      capture: { status: 'captured', reason: null }, requestedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown, answeredAt: expect.stringMatching(/Z$/) as unknown, reversal: null,
    });
    expect(authorizations[0]).toMatchObject({ responseCode: '05', capture: null, reversal: null });
    expectNoCardDigits(r.text);
  });

  it('pages with limit and before, and bounds limit', async () => {
    for (const minor of [11, 12, 13]) await paid(cards.good, minor);
    const first = page(await list('?limit=2'));
    expect(first.authorizations).toHaveLength(2);
    expect(first.next).toBe(first.authorizations[1]!.authorizationId);
    const second = page(await list(`?limit=2&before=${first.next}`));
    expect(second.authorizations).toHaveLength(2);
    const all = page(await list(`?limit=${cardAuthorizationsMax}`)).authorizations.map((a) => a.authorizationId);
    expect([...first.authorizations, ...second.authorizations].map((a) => a.authorizationId)).toEqual(all.slice(0, 4));
    expect(page(await list()).authorizations.length).toBeLessThanOrEqual(cardAuthorizationsDefault);
    expect(page(await list(`?limit=${cardAuthorizationsMax}`)).next).toBeNull();
    for (const q of ['?limit=0', `?limit=${cardAuthorizationsMax + 1}`, '?limit=-1', '?limit=1e2', '?limit=01', '?before=nope', '?other=1', '?limit=1&limit=2']) {
      const bad = await list(q);
      expect([bad.status, errorCodeOf(bad)], q).toEqual([400, 'TS_ERR_INVALID_QUERY']);
    }
    const unknown = await list(`?before=${cardBody(cards.good).authorizationId}`);
    expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'TS_ERR_CARD_UNKNOWN_AUTHORIZATION']);
  });
});

describe('POST /v1/card-authorizations/{id}/reversal', () => {
  it('undoes a sale: the merchant pays back, the card\'s open-to-buy comes back, once; a repeat gets the same answer', async () => {
    const cardToken = h.tokens.get(cards.good)!;
    const merchantBefore = await balanceOf(h.core, harnessMerchant);
    const openBefore = h.issuer.store.getCard(cardToken)!.openToBuyMinor;
    const sale = await paid(cards.good, 4_000);
    expect(await balanceOf(h.core, harnessMerchant)).toBe(merchantBefore + 4_000);
    expect(h.issuer.store.getCard(cardToken)!.openToBuyMinor).toBe(openBefore - 4_000);

    const r = await reverse(sale.authorizationId);
    expect([200, 202], r.text).toContain(r.status);
    expect(CardReversalResult.parse(r.body)).toMatchObject({ authorizationId: sale.authorizationId, reason: 'operator', amount: { minor: 4_000, currency: 'EUR' } });
    await vi.waitFor(async () => {
      const again = await reverse(sale.authorizationId);
      expect(again.status).toBe(200);
      expect(CardReversalResult.parse(again.body).status).toBe('reversed');
    }, { timeout: 5_000, interval: 50 });
    expect(await balanceOf(h.core, harnessMerchant)).toBe(merchantBefore);
    expect(h.issuer.store.getCard(cardToken)!.openToBuyMinor).toBe(openBefore);

    const done = await reverse(sale.authorizationId);
    const repeat = await reverse(sale.authorizationId);
    expect([done.status, repeat.status]).toEqual([200, 200]);
    expect(repeat.text).toBe(done.text);
    expect(await balanceOf(h.core, harnessMerchant)).toBe(merchantBefore);
    expect(h.issuer.store.getCard(cardToken)!.openToBuyMinor).toBe(openBefore);

    const listed = page(await list(`?limit=${cardAuthorizationsMax}`)).authorizations.find((a) => a.authorizationId === sale.authorizationId)!;
    expect(listed.reversal).toMatchObject({ state: 'done', reason: 'operator', requestedBy: 'operator', ledger: 'reversed', issuer: 'reversed', lastError: null });
    expect(listed.capture).toEqual({ status: 'captured', reason: null });
  });

  it('a declined sale reverses to not-captured and moves nothing', async () => {
    const declined = await paid(cards.blocked, 700);
    const before = await balanceOf(h.core, harnessMerchant);
    const r = await reverse(declined.authorizationId);
    expect(r.status, r.text).toBe(200);
    expect(CardReversalResult.parse(r.body).status).toBe('not-captured');
    expect(await balanceOf(h.core, harnessMerchant)).toBe(before);
  });

  it('a sale the phone already reversed with its own reason is 409; an unknown id is 404', async () => {
    const sale = await paid(cards.good, 55);
    const path = `${cardPath(w0)}/${sale.authorizationId}/reversal`;
    const byPhone = await call(signed(h.base, w0, 'POST', path, { body: '{"reason":"cancelled"}' }));
    expect(byPhone.status, byPhone.text).toBe(200);
    const r = await reverse(sale.authorizationId);
    expect([r.status, errorCodeOf(r)]).toEqual([409, 'TS_ERR_CARD_DUPLICATE_MISMATCH']);
    const unknown = await reverse(cardBody(cards.good).authorizationId);
    expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'TS_ERR_CARD_UNKNOWN_AUTHORIZATION']);
  });

  it('takes only {"reason":"operator"}', async () => {
    const sale = await paid(cards.good, 66);
    for (const body of ['{"reason":"cancelled"}', '{"reason":"capture-refused"}', '{"reason":"operator","x":1}', '{}', '[]', 'null', '{']) {
      const r = await reverse(sale.authorizationId, { body });
      expect(r.status, body).toBe(400);
      expect(errorCodeOf(r)).toMatch(/^TS_ERR_(INVALID_BODY|MALFORMED_JSON)$/);
    }
    const badId = await reverse('not-a-uuid');
    expect([badId.status, errorCodeOf(badId)]).toEqual([400, 'TS_ERR_INVALID_PARAMS']);
    const query = await admin(h.base, `/v1/card-authorizations/${sale.authorizationId}/reversal?x=1`, { method: 'POST', body: '{"reason":"operator"}' });
    expect([query.status, errorCodeOf(query)]).toEqual([400, 'TS_ERR_INVALID_QUERY']);
    expect(page(await list(`?limit=${cardAuthorizationsMax}`)).authorizations.find((a) => a.authorizationId === sale.authorizationId)!.reversal).toBeNull();
  });
});

describe('the admin token, always', () => {
  it('no or a wrong token is 401 TS_ERR_ADMIN_TOKEN, and nothing is reversed', async () => {
    const sale = await paid(cards.good, 77);
    for (const auth of [null, 'Bearer wrong-token-wrong-token', token, `Basic ${token}`, `Bearer ${token}x`]) {
      for (const r of [await list('', { auth }), await reverse(sale.authorizationId, { auth }), await reverse(sale.authorizationId, { auth, body: 'garbage' })]) {
        expect([r.status, errorCodeOf(r)], String(auth)).toEqual([401, 'TS_ERR_ADMIN_TOKEN']);
      }
    }
    expect(h.processor.log.reversals.get(sale.authorizationId)).toBeNull();
  });

  it('a gateway without an admin token answers 403 TS_ERR_ADMIN_TOKEN_NOT_CONFIGURED, whatever is sent', async () => {
    const w = shut.station.wallets[0]!;
    const r0 = await pay(shut, w, cardBody(cards.good, { minor: 88 }));
    const sale = CardAuthorizationResult.parse(r0.body);
    for (const r of [
      await admin(shut.base, '/v1/card-authorizations'),
      await admin(shut.base, '/v1/card-authorizations', { auth: null }),
      await reverse(sale.authorizationId, { base: shut.base }),
      await reverse(sale.authorizationId, { base: shut.base, auth: null, body: 'x' }),
    ]) {
      expect([r.status, errorCodeOf(r)]).toEqual([403, 'TS_ERR_ADMIN_TOKEN_NOT_CONFIGURED']);
    }
    expect(shut.processor.log.reversals.get(sale.authorizationId)).toBeNull();
  });
});

describe('fuzzed', () => {
  const runs = 50;
  const seed = 36_037;
  const coded4xx = (r: Answer): void => {
    expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    expect(r.status, r.text).toBeLessThan(500);
    expect(errorCodeOf(r)).toMatch(/^TS_ERR_[A-Z_]+$/);
  };

  it('bodies, ids and queries that are not operator reversals or pages get a coded 4xx; the gateway stays up', async () => {
    const sale = await paid(cards.good, 99);
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).filter((d) => JSON.stringify(d) !== '{"reason":"operator"}').map((v) => JSON.stringify(v)),
      fc.integer({ min: 4097, max: 9_000 }).map((n) => JSON.stringify({ reason: 'operator', pad: 'x'.repeat(n) })),
    );
    await fc.assert(fc.asyncProperty(body, async (b) => coded4xx(await reverse(sale.authorizationId, { body: b }))), { numRuns: runs, seed });
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 60 }), async (id) => {
      coded4xx(await reverse(encodeURIComponent(id)));
    }), { numRuns: runs, seed });
    const query = fc.dictionary(fc.constantFrom('limit', 'before', 'x', 'limit[]'), fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String)), { minKeys: 1, maxKeys: 3 })
      .filter((q) => !(Object.keys(q).every((k) => k === 'limit') && /^[1-9]\d{0,2}$/.test(q.limit ?? '') && Number(q.limit) <= cardAuthorizationsMax));
    await fc.assert(fc.asyncProperty(query, async (q) => coded4xx(await list(`?${new URLSearchParams(q).toString()}`))), { numRuns: runs, seed });
    expect(h.processor.log.reversals.get(sale.authorizationId)).toBeNull();
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
    expect((await list('?limit=1')).status).toBe(200);
  });
});

describe('in the gateway (startGateway)', () => {
  it('served only with cards: in the config (else a coded 404), and with the configured admin token', async () => {
    const t = tempDir('tapsettle-gw-card-admin-');
    const secretsFile = join(t.dir, 'issuer-secrets.json');
    ensureIssuerSecrets(secretsFile);
    const keys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) };
    const base = { mqtt: { port: 0 }, log: { level: 'silent' } };
    const withCards = await startGateway(parseGatewayConfig({ ...base, data: join(t.dir, 'gw'), http: { port: 0, adminToken: token }, cards: { issuerUrl: h.issuer.url, secretsFile } }), keys);
    const bare = await startGateway(parseGatewayConfig({ ...base, data: join(t.dir, 'bare'), http: { port: 0, adminToken: token } }), keys);
    try {
      const ok = await admin(withCards.urls.http, '/v1/card-authorizations');
      expect(ok.status, ok.text).toBe(200);
      expect(page(ok)).toEqual({ authorizations: [], next: null });
      expect(errorCodeOf(await admin(withCards.urls.http, '/v1/card-authorizations', { auth: null }))).toBe('TS_ERR_ADMIN_TOKEN');
      for (const r of [await admin(bare.urls.http, '/v1/card-authorizations'), await reverse(cardBody(cards.good).authorizationId, { base: bare.urls.http })]) {
        expect([r.status, errorCodeOf(r)]).toEqual([404, 'TS_ERR_NOT_FOUND']);
      }
    } finally {
      await withCards.close();
      await bare.close();
      t.cleanup();
    }
  });
});
