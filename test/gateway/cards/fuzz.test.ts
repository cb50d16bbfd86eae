/** Fuzzed bodies on the card route, signed with a valid proof so they reach every check: a coded 4xx or a result, never a 5xx; the server stays up. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardAuthorizationResult } from '../../../gateway/cards/index.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { call, errorCodeOf, signed } from '../http/harness.ts';
import { cards } from '../../settlement-core/cards/fixtures.ts';
import { cardBody, cardPath, pay, startCardHarness } from './harness.ts';
import type { CardHarness } from './harness.ts';

let h: CardHarness;
let w: TestWallet;
beforeAll(async () => {
  h = await startCardHarness();
  w = h.station.wallets[0]!;
});
afterAll(() => h.close());

/** Enough to reach every branch of the body parser; each run is one HTTP round trip. */
const runs = 150;
const seed = 36_036;

const badBody = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{', 'null', '[]', '{"__proto__":{"approved":true}}', '{"card":{"pan":"4242424242424242"}}'),
  fc.integer({ min: 4097, max: 12_000 }).map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
);

function expectCoded4xx(r: { status: number; body: unknown; headers: Headers }): void {
  expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
  expect(errorCodeOf(r)).toMatch(/^TS_ERR_[A-Z_]+$/);
}

describe('POST /v1/wallets/{id}/card-authorizations, fuzzed', () => {
  it('answers bodies that are not card authorizations with a coded 4xx', async () => {
    await fc.assert(fc.asyncProperty(badBody, async (body) => {
      expectCoded4xx(await call(signed(h.base, w, 'POST', cardPath(w), { body })));
    }), { numRuns: runs, seed });
  });

  it('a genuine body with one field replaced: a coded 4xx, or a decision from the issuer', async () => {
    const genuine = cardBody(cards.good, { minor: 1 }) as unknown as Record<string, unknown>;
    await fc.assert(fc.asyncProperty(fc.constantFrom(...Object.keys(genuine), 'extra'), fc.jsonValue({ maxDepth: 2 }), async (key, value) => {
      const body = { ...genuine, authorizationId: cardBody(cards.good).authorizationId, [key]: value };
      const r = await pay(h, w, JSON.stringify(body));
      if (r.status === 200) expect(CardAuthorizationResult.parse(r.body).source).toBe('issuer');
      else expectCoded4xx(r);
    }), { numRuns: runs, seed });
  });

  it('is still up and deciding afterwards', async () => {
    const r = await pay(h, w, cardBody(cards.good, { minor: 2 }));
    expect(CardAuthorizationResult.parse(r.body).responseCode).toBe('00');
  });
});
