/**
 * Reversals at the issuer (ISO 8583 0400 manner): the card store gives an
 * approval's open-to-buy back once, records every reversal (an unknown id
 * too, so a late authorization is declined), refuses other content; the
 * host's route is the acquirer's only (401), answers coded errors (fuzzed);
 * the gateway's issuer client reverses within its bounds and says what
 * happened on the line.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../protocol/index.ts';
import { AuthorizationResponse, CardStore, ReversalResponse, startIssuerHost } from '../../../settlement-core/cards/index.ts';
import type { IssuerHost, ReversalRequest, ReverseOutcome } from '../../../settlement-core/cards/index.ts';
import { IssuerClient } from '../../../gateway/cards/issuer-client.ts';
import { acquirerToken, addCards, authRequest, cards, clock, now, pepper, tempDir } from './fixtures.ts';

const reversalOf = (authorizationId: string, minor = 1_250, reason: ReversalRequest['reason'] = 'timeout'): ReversalRequest =>
  ({ v: 1, authorizationId, amount: { minor, currency: 'EUR' }, reason });

function answered(o: ReverseOutcome): { json: string; response: ReversalResponse; replay: boolean } {
  if (o.kind !== 'answer') throw new Error(`expected an answer, got ${o.kind}`);
  expect(ReversalResponse.parse(JSON.parse(o.json))).toEqual(o.response);
  return o;
}

describe('reversals in the card store', () => {
  let t: { dir: string; cleanup: () => void };
  let store: CardStore;
  let tokens: Map<string, string>;
  const otb = (pan: string): number => store.getCard(tokens.get(pan)!)!.openToBuyMinor;
  const approve = (minor = 1_250): string => {
    const req = authRequest(cards.good, { minor });
    const o = store.authorize(req);
    if (o.kind !== 'answer' || o.response.responseCode !== '00') throw new Error('expected an approval');
    return req.authorizationId;
  };

  beforeEach(() => {
    t = tempDir();
    store = new CardStore({ path: `${t.dir}/issuer.db`, pepper, clock });
    tokens = addCards(store);
  });
  afterEach(() => {
    store.close();
    t.cleanup();
  });

  it('gives an approval\'s open-to-buy back once; a resend gets the same bytes and gives nothing more', () => {
    const id = approve();
    expect(otb(cards.good)).toBe(100_000 - 1_250);
    const first = answered(store.reverse(reversalOf(id)));
    expect(first.response).toEqual({ v: 1, authorizationId: id, status: 'reversed', amount: { minor: 1_250, currency: 'EUR' }, restoredMinor: 1_250, cardToken: tokens.get(cards.good), decidedAt: now });
    expect(otb(cards.good)).toBe(100_000);
    const again = answered(store.reverse(reversalOf(id)));
    expect([again.json, again.replay]).toEqual([first.json, true]);
    expect(otb(cards.good)).toBe(100_000);
  });

  it('refuses the id reversed with another reason (mismatch) and another amount than the authorization\'s (amount-mismatch, nothing written)', () => {
    const id = approve();
    expect(store.reverse(reversalOf(id, 1_000))).toEqual({ kind: 'amount-mismatch' });
    expect(store.reverse({ ...reversalOf(id), amount: { minor: 1_250, currency: 'USD' } })).toEqual({ kind: 'amount-mismatch' });
    expect(otb(cards.good)).toBe(100_000 - 1_250);
    answered(store.reverse(reversalOf(id, 1_250, 'not-delivered')));
    expect(store.reverse(reversalOf(id, 1_250, 'operator'))).toEqual({ kind: 'mismatch' });
    expect(otb(cards.good)).toBe(100_000);
  });

  it('a declined authorization is not-approved: nothing was taken, nothing is given', () => {
    const req = authRequest(cards.poor, { minor: 1_001 });
    expect(store.authorize(req)).toMatchObject({ response: { responseCode: '51' } });
    expect(answered(store.reverse(reversalOf(req.authorizationId, 1_001))).response).toMatchObject({ status: 'not-approved', restoredMinor: 0, cardToken: tokens.get(cards.poor) });
    expect(otb(cards.poor)).toBe(1_000);
  });

  it('an unknown id is recorded unknown-authorization; the authorization arriving after it is declined 05 and takes nothing', () => {
    const req = authRequest(cards.good);
    const early = answered(store.reverse(reversalOf(req.authorizationId)));
    expect(early.response).toMatchObject({ status: 'unknown-authorization', restoredMinor: 0, cardToken: null });
    const late = store.authorize(req);
    expect(late).toMatchObject({ kind: 'answer', response: { responseCode: '05', approved: false } });
    expect(otb(cards.good)).toBe(100_000);
    expect(store.getCard(tokens.get(cards.good)!)!.badTries).toBe(0);
    expect(answered(store.reverse(reversalOf(req.authorizationId))).json).toBe(early.json);
  });

  it('open-to-buy is the opening amount less the approvals not reversed, whatever the order (random mixes)', () => {
    fc.assert(fc.property(fc.array(fc.record({ reverse: fc.boolean(), slot: fc.integer({ min: 0, max: 4 }), minor: fc.integer({ min: 1, max: 5 }) }), { maxLength: 20 }), (ops) => {
      const ids = Array.from({ length: 5 }, () => uuidv7(now));
      const taken = new Map<string, number>();
      const reversed = new Set<string>();
      const amountOf = new Map<string, number>();
      const before = otb(cards.good);
      for (const o of ops) {
        const id = ids[o.slot]!;
        const minor = amountOf.get(id) ?? o.minor * 100;
        amountOf.set(id, minor);
        if (o.reverse) {
          const r = answered(store.reverse(reversalOf(id, minor)));
          if (!reversed.has(id) && taken.has(id)) expect(r.response.status).toBe('reversed');
          reversed.add(id);
        } else {
          const a = store.authorize(authRequest(cards.good, { id, minor }));
          if (a.kind !== 'answer') throw new Error('mismatch');
          if (a.response.responseCode === '00') taken.set(id, minor);
          else expect(reversed.has(id)).toBe(true);
        }
      }
      const out = [...taken].reduce((sum, [id, minor]) => sum + (reversed.has(id) ? 0 : minor), 0);
      expect(before - otb(cards.good)).toBe(out);
    }), { numRuns: 40, seed: 400 });
  });

  it('migrates a version-1 issuer database: cards and authorizations kept, reversals work', () => {
    const id = approve();
    store.close();
    const raw = new Database(`${t.dir}/issuer.db`);
    raw.exec('DROP TABLE reversals');
    raw.pragma('user_version = 1');
    raw.close();
    store = new CardStore({ path: `${t.dir}/issuer.db`, pepper, clock });
    const check = new Database(`${t.dir}/issuer.db`, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    check.close();
    expect(answered(store.reverse(reversalOf(id))).response.status).toBe('reversed');
    expect(otb(cards.good)).toBe(100_000);
  });

  it('a closed store refuses with a coded error and writes nothing', () => {
    const id = approve();
    store.close();
    expect(() => store.reverse(reversalOf(id))).toThrow(expect.objectContaining({ code: 'TS_ERR_CARD_CLOSED' }) as Error);
  });
});

describe('the issuer host\'s reversal route, and the gateway\'s issuer client', () => {
  let host: IssuerHost;
  let t: { dir: string; cleanup: () => void };
  let client: IssuerClient;
  beforeAll(async () => {
    t = tempDir();
    host = await startIssuerHost({ dbPath: `${t.dir}/issuer.db`, pepper, acquirerToken, port: 0, host: '127.0.0.1', clock });
    addCards(host.store);
    client = new IssuerClient({ url: host.url, acquirerToken, limits: { timeoutMs: 2_000 } });
  });
  afterAll(async () => {
    await host.close();
    t.cleanup();
  });

  async function post(path: string, body: string, token: string | null = acquirerToken) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${host.url}${path}`, { method: 'POST', headers, body });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as unknown };
  }
  const codeOf = (r: { body: unknown }): string => (r.body as { error: { code: string } }).error.code;
  const approveOverHttp = async (minor = 1_250): Promise<string> => {
    const req = authRequest(cards.good, { minor });
    expect(AuthorizationResponse.parse((await post('/v1/authorizations', JSON.stringify(req))).body).responseCode).toBe('00');
    return req.authorizationId;
  };

  it('reverses over HTTP: 200 with the answer, the same bytes on a resend, open-to-buy back once', async () => {
    const token = host.store.listCards().find((c) => c.last4 === cards.good.slice(-4))!.token;
    const before = host.store.getCard(token)!.openToBuyMinor;
    const id = await approveOverHttp(300);
    const first = await post('/v1/reversals', JSON.stringify(reversalOf(id, 300, 'not-delivered')));
    expect(first.status).toBe(200);
    expect(ReversalResponse.parse(first.body)).toMatchObject({ status: 'reversed', restoredMinor: 300 });
    expect((await post('/v1/reversals', JSON.stringify(reversalOf(id, 300, 'not-delivered')))).text).toBe(first.text);
    expect(host.store.getCard(token)!.openToBuyMinor).toBe(before);
  });

  it('answers the acquirer only (401), and 409 for other content or another amount', async () => {
    const id = await approveOverHttp();
    for (const token of [null, 'x', `${acquirerToken}x`]) {
      const r = await post('/v1/reversals', JSON.stringify(reversalOf(id)), token);
      expect([r.status, codeOf(r)]).toEqual([401, 'TS_ERR_CARD_ACQUIRER']);
    }
    const wrongAmount = await post('/v1/reversals', JSON.stringify(reversalOf(id, 1)));
    expect([wrongAmount.status, codeOf(wrongAmount)]).toEqual([409, 'TS_ERR_CARD_REVERSAL_MISMATCH']);
    expect((await post('/v1/reversals', JSON.stringify(reversalOf(id)))).status).toBe(200);
    const other = await post('/v1/reversals', JSON.stringify(reversalOf(id, 1_250, 'operator')));
    expect([other.status, codeOf(other)]).toEqual([409, 'TS_ERR_CARD_DUPLICATE_MISMATCH']);
  });

  it('answers fuzzed reversal bodies with a coded 4xx or a decision, and stays up', async () => {
    const genuine = reversalOf(uuidv7()) as unknown as Record<string, unknown>;
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.tuple(fc.constantFrom(...Object.keys(genuine), 'extra'), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ ...genuine, authorizationId: uuidv7(), [k]: v })),
      fc.constantFrom('', '{', 'null', '[]', '{"__proto__":{"v":1}}'),
    );
    await fc.assert(fc.asyncProperty(body, async (b) => {
      const r = await post('/v1/reversals', b);
      if (r.status === 200) {
        ReversalResponse.parse(r.body);
        return;
      }
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(codeOf(r)).toMatch(/^TS_ERR_[A-Z_]+$/);
      expect(r.text).not.toMatch(/\d{8}/);
    }), { numRuns: 200, seed: 400 });
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  });

  it('the client reverses, and names a mismatch and an amount-mismatch', async () => {
    const id = await approveOverHttp(200);
    expect(await client.reverse(reversalOf(id, 199))).toEqual({ kind: 'amount-mismatch' });
    const r = await client.reverse(reversalOf(id, 200));
    expect(r).toMatchObject({ kind: 'answer', response: { status: 'reversed', restoredMinor: 200 } });
    expect(await client.reverse(reversalOf(id, 200))).toEqual(r);
    expect(await client.reverse(reversalOf(id, 200, 'cancelled'))).toEqual({ kind: 'mismatch' });
    expect(await client.reverse(reversalOf(uuidv7(), 200))).toMatchObject({ kind: 'answer', response: { status: 'unknown-authorization' } });
  });
});

describe('the issuer client\'s reversal on a bad line', () => {
  /** A server on 127.0.0.1 that answers what `answer` says, or never answers (null). */
  async function fakeIssuer(answer: (body: string) => { status: number; body: string } | null) {
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const a = answer(Buffer.concat(parts).toString('utf8'));
        if (a !== null) res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
  }

  it('garbled: not JSON, not a ReversalResponse, about another reversal, or an unexpected status', async () => {
    const req = reversalOf(uuidv7());
    const good = { v: 1, authorizationId: req.authorizationId, status: 'reversed', amount: req.amount, restoredMinor: 1_250, cardToken: null, decidedAt: now };
    const answers = [
      { status: 200, body: 'not json' },
      { status: 200, body: '{}' },
      { status: 200, body: JSON.stringify({ ...good, authorizationId: uuidv7() }) },
      { status: 200, body: JSON.stringify({ ...good, restoredMinor: 1 }) },
      { status: 500, body: '{"error":{"code":"TS_ERR_INTERNAL"}}' },
    ];
    for (const a of answers) {
      const fake = await fakeIssuer(() => a);
      try {
        expect(await new IssuerClient({ url: fake.url, acquirerToken }).reverse(req), a.body).toMatchObject({ kind: 'garbled' });
      } finally {
        await fake.close();
      }
    }
    const fine = await fakeIssuer(() => ({ status: 200, body: JSON.stringify(good) }));
    try {
      expect(await new IssuerClient({ url: fine.url, acquirerToken }).reverse(req)).toEqual({ kind: 'answer', response: good });
    } finally {
      await fine.close();
    }
  });

  it('unavailable on 503, on no answer within timeoutMs, or with no server; busy past waitingMax', async () => {
    const req = reversalOf(uuidv7());
    const down = await fakeIssuer(() => ({ status: 503, body: '{"error":{"code":"TS_ERR_UNAVAILABLE"}}' }));
    expect(await new IssuerClient({ url: down.url, acquirerToken }).reverse(req)).toMatchObject({ kind: 'unavailable' });
    await down.close();
    expect(await new IssuerClient({ url: down.url, acquirerToken }).reverse(req)).toMatchObject({ kind: 'unavailable' });
    const silent = await fakeIssuer(() => null);
    try {
      const c = new IssuerClient({ url: silent.url, acquirerToken, limits: { timeoutMs: 300, concurrentMax: 1, waitingMax: 1 } });
      const calls = [c.reverse(req), c.reverse(req), c.reverse(req)];
      const out = await Promise.all(calls);
      expect(out.map((o) => o.kind).sort()).toEqual(['busy', 'unavailable', 'unavailable']);
      expect(c.stats).toEqual({ inFlight: 0, waiting: 0 });
    } finally {
      await silent.close();
    }
  });
});
