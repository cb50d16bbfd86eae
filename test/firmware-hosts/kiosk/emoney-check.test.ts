/**
 * The kiosk's own check of a minted e-money token (signature under a
 * configured issuer key, the wallet that paid, the price paid), and what a
 * late result of an e-money sale calls for: `emoney-retrievable` whatever the
 * check says — an e-money sale is final at approval, there is no refund.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emoneyTokenBytes, generateSigningKeyPair, resultTag, signEd25519, uuidv7 } from '../../../protocol/index.ts';
import type { EmoneyToken, SettleResult } from '../../../protocol/index.ts';
import { checkIssuedToken } from '../../../firmware-hosts/kiosk/emoney-check.ts';
import { LateSales, expectationOf } from '../../../firmware-hosts/kiosk/late-sales.ts';

const issuer = generateSigningKeyPair('issuer-1');
const keys = [{ keyId: issuer.keyId, publicKey: issuer.publicKey }];
const walletId = uuidv7();
const price = { minor: 2_000, currency: 'EUR' };
const expect_ = { walletId, amount: price };

function mint(over: Partial<Omit<EmoneyToken, 'sig'>> = {}, pair = issuer): EmoneyToken {
  const unsigned = { serial: uuidv7(), amount: price, holder: walletId, issuedAt: 1_800_000_000_000, float: '000-0000004', keyId: pair.keyId, ...over };
  return { ...unsigned, sig: signEd25519(pair, emoneyTokenBytes(unsigned)) };
}

function approved(requestId: string, emoney?: unknown): SettleResult {
  const fields = { deviceId: 'kiosk-1', requestId, status: 'approved' as const, amount: price };
  return { v: 1, type: 'result', sentAt: 1, ...fields, ...(emoney !== undefined ? { emoney: emoney as EmoneyToken } : {}), tag: resultTag(Buffer.alloc(32), fields) };
}

describe('checkIssuedToken', () => {
  it('accepts a token signed by a configured issuer key, held by the wallet that paid, worth the price', () => {
    const t = mint();
    expect(checkIssuedToken(t, expect_, keys)).toEqual({ ok: true, token: t });
    expect(checkIssuedToken(t, {}, keys).ok).toBe(true);
  });

  it('names why a token is refused', () => {
    expect(checkIssuedToken(undefined, expect_, keys)).toEqual({ ok: false, why: 'missing' });
    expect(checkIssuedToken({ ...mint(), amount: { minor: 0, currency: 'EUR' } }, expect_, keys)).toEqual({ ok: false, why: 'malformed' });
    expect(checkIssuedToken(mint(), expect_, [])).toEqual({ ok: false, why: 'unknown-key' });
    expect(checkIssuedToken(mint({}, generateSigningKeyPair('issuer-1')), expect_, keys)).toEqual({ ok: false, why: 'bad-signature' });
    expect(checkIssuedToken(mint({ holder: uuidv7() }), expect_, keys)).toEqual({ ok: false, why: 'wrong-holder' });
    expect(checkIssuedToken(mint({ amount: { minor: 1_999, currency: 'EUR' } }), expect_, keys)).toEqual({ ok: false, why: 'wrong-amount' });
    expect(checkIssuedToken(mint({ amount: { minor: 2_000, currency: 'USD' } }), expect_, keys)).toEqual({ ok: false, why: 'wrong-amount' });
  });

  it('refuses any change to a signed field, and never throws on garbage (fast-check)', () => {
    const t = mint();
    const fields = ['serial', 'amount', 'holder', 'issuedAt', 'float', 'keyId', 'sig'] as const;
    fc.assert(fc.property(fc.constantFrom(...fields), fc.oneof(fc.string({ maxLength: 90 }), fc.integer(), fc.constant(null), fc.record({ minor: fc.integer(), currency: fc.string({ maxLength: 4 }) })), (field, value) => {
      fc.pre(JSON.stringify(t[field]) !== JSON.stringify(value));
      expect(checkIssuedToken({ ...t, [field]: value }, {}, keys).ok).toBe(false);
    }), { seed: 34, numRuns: 500 });
    fc.assert(fc.property(fc.anything(), (junk) => {
      expect(checkIssuedToken(junk, expect_, keys).ok).toBe(false);
    }), { seed: 35, numRuns: 300 });
  });
});

describe('late results of e-money sales', () => {
  it('emoney-retrievable whether the token verifies or not; a decline needs nothing', () => {
    const late = new LateSales();
    const [a, b, c, d] = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    for (const id of [a, b, c]) late.expect(id, { kind: 'emoney', emoney: expect_ });
    expect(late.judge(approved(a, mint()), keys)).toMatchObject({ outcome: 'emoney-retrievable', verified: true });
    expect(late.judge(approved(b, mint({ holder: uuidv7() })), keys)).toMatchObject({ outcome: 'emoney-retrievable', verified: false, why: expect.stringContaining('wrong-holder') as unknown });
    expect(late.judge({ ...approved(c), status: 'declined', reason: 'insufficient-funds' }, keys)).toEqual({ outcome: null, why: 'declined insufficient-funds' });
    // A sale forgotten (or never known): judged by what the result carries.
    expect(late.judge(approved(d, mint()), keys)).toMatchObject({ outcome: 'emoney-retrievable', verified: true });
    expect(late.size).toBe(0);
  });

  it('a settle request restored from the outbox is read back as an e-money sale; an unreadable one as unknown', () => {
    const body = JSON.stringify({
      v: 1, type: 'settle', requestId: uuidv7(), sentAt: 1, deviceId: 'kiosk-1',
      purchase: { merchant: '500-0000001', amount: price, article: 'emoney-20', quantity: 1 },
      wallet: { walletId, counter: 1, deviceNonce: '0'.repeat(32), cryptogram: '0'.repeat(64) }, emoney: { kind: 'issue' },
    });
    expect(expectationOf(body)).toEqual({ kind: 'emoney', emoney: { walletId, amount: price } });
    expect(expectationOf('{"not":"a settle request"}')).toBeNull();
    expect(expectationOf('not json')).toBeNull();
  });
});
