/** Claim 36 end to end: phone → wallet API → card processing apparatus → issuer host, over real HTTP on 127.0.0.1. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardAuthorizationResult } from '../../../gateway/cards/index.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { call, errorCodeOf, signed } from '../http/harness.ts';
import { badLuhn, cards, codeCases } from '../../settlement-core/cards/fixtures.ts';
import { cardBody, cardPath, pay, startCardHarness } from './harness.ts';
import type { CardHarness } from './harness.ts';

let h: CardHarness;
let w0: TestWallet;
let w1: TestWallet;
beforeAll(async () => {
  h = await startCardHarness();
  [w0, w1] = h.station.wallets as [TestWallet, TestWallet];
});
afterAll(() => h.close());

describe('every issuer response code, through the wallet API', () => {
  it.each(codeCases)('$code for $why', async ({ code, pan, o }) => {
    const r = await pay(h, w0, cardBody(pan, o));
    expect(r.status, r.text).toBe(200);
    const result = CardAuthorizationResult.parse(r.body);
    expect(result).toMatchObject({ responseCode: code, approved: code === '00', source: 'issuer', card: { last4: pan.slice(-4), masked: `•••• •••• •••• ${pan.slice(-4)}`, token: h.tokens.get(pan) ?? null } });
    expect(r.text).not.toContain(pan);
    const logged = h.processor.log.get(result.authorizationId)!;
    expect(logged).toMatchObject({ walletId: w0.walletId, last4: pan.slice(-4), responseCode: code, source: 'issuer', final: true, attempts: 1 });
  });

  it('an approval carries a six-character approval code and the response text', async () => {
    const result = CardAuthorizationResult.parse((await pay(h, w0, cardBody(cards.good, { minor: 99 }))).body);
    expect(result.approvalCode).toMatch(/^[0-9A-Z]{6}$/);
    expect(result.responseText).toBe('approved');
  });
});

describe('idempotency by authorizationId', () => {
  it('a resend (new proof counter, same body) gets the same bytes and the issuer takes the money once', async () => {
    const token = h.tokens.get(cards.poor)!;
    const before = h.issuer.store.getCard(token)!.openToBuyMinor;
    const body = cardBody(cards.poor, { minor: 10 });
    const first = await pay(h, w0, body);
    const again = await pay(h, w0, body);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(h.issuer.store.getCard(token)!.openToBuyMinor).toBe(before - 10);
    expect(h.processor.log.get(body.authorizationId)!.attempts).toBe(1);
  });

  it('the same id with other content, or from another wallet, is 409 TS_ERR_CARD_DUPLICATE_MISMATCH', async () => {
    const body = cardBody(cards.good, { minor: 20 });
    const first = await pay(h, w0, body);
    for (const other of [{ ...body, amount: { minor: 21, currency: 'EUR' } }, { ...body, card: { ...body.card, cvv: '321' } }, { ...body, mcc: '5411' }]) {
      const r = await pay(h, w0, other);
      expect(r.status).toBe(409);
      expect(errorCodeOf(r)).toBe('TS_ERR_CARD_DUPLICATE_MISMATCH');
    }
    const foreign = await pay(h, w1, body);
    expect(foreign.status).toBe(409);
    expect((await pay(h, w0, body)).text).toBe(first.text);
  });

  it('the issuer refuses a reused id the gateway has not seen (another gateway, a lost log) and the phone hears 409', async () => {
    const body = cardBody(cards.good, { minor: 30 });
    h.issuer.store.authorize({ v: 1, ...body, amount: { minor: 31, currency: 'EUR' } });
    const r = await pay(h, w0, body);
    expect(r.status).toBe(409);
    expect(errorCodeOf(r)).toBe('TS_ERR_CARD_DUPLICATE_MISMATCH');
  });
});

describe('the wallet proof guards the route like every wallet route', () => {
  it('refuses a request without proof, with another wallet\'s proof, or with a replayed counter', async () => {
    const body = JSON.stringify(cardBody(cards.good));
    const bare = await call({ url: `${h.base}${cardPath(w0)}`, init: { method: 'POST', headers: { 'content-type': 'application/json' }, body }, counter: 0 });
    expect(errorCodeOf(bare)).toBe('TS_ERR_PROOF_MISSING');
    expect(errorCodeOf(await pay(h, w0, body, { signAs: w1 }))).toBe('TS_ERR_BAD_PROOF');
    const once = signed(h.base, w0, 'POST', cardPath(w0), { body });
    expect((await call(once)).status).toBe(200);
    expect(errorCodeOf(await call(once))).toBe('TS_ERR_COUNTER_REUSED');
  });

  it('refuses a body changed in flight', async () => {
    const s = signed(h.base, w0, 'POST', cardPath(w0), { body: JSON.stringify(cardBody(cards.good, { minor: 5 })) });
    s.init.body = (s.init.body as string).replace('"minor":5', '"minor":6');
    expect(errorCodeOf(await call(s))).toBe('TS_ERR_BAD_PROOF');
  });

  it('names the bad field without echoing the card number', async () => {
    const body = { ...cardBody(cards.good), card: { pan: `${cards.good.slice(0, 12)}42x4`, expiry: '2712', cvv: '123' } };
    const r = await pay(h, w0, JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(errorCodeOf(r)).toBe('TS_ERR_INVALID_BODY');
    expect(r.text).toContain('card.pan');
    expect(r.text).not.toContain(cards.good.slice(0, 12));
    const unknownKey = await pay(h, w0, JSON.stringify({ ...cardBody(cards.good), [badLuhn]: 1 }));
    expect(errorCodeOf(unknownKey)).toBe('TS_ERR_INVALID_BODY');
    expect(unknownKey.text).not.toContain(badLuhn.slice(0, 12));
  });
});
