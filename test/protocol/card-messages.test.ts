/** The card channel's bodies (claim 36 at a device): decoding with coded refusals that echo no card digits, and the tags a device checks. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CardAuthorizationRequest, cardErrorCodes, cardErrorTag, cardResultTag, cardReversalAckTag, decodeCardMessage, verifyCardErrorTag, verifyCardResultTag, verifyCardReversalAckTag,
} from '../../protocol/card-messages.ts';
import type { CardErrorNotice, CardReversalAck, DeviceCardResult } from '../../protocol/card-messages.ts';
import { limits, uuidV7Pattern, uuidv7 } from '../../protocol/index.ts';

const pan = '4242424242424242';
const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 8);

const request = (o: Partial<CardAuthorizationRequest> = {}): CardAuthorizationRequest => ({
  v: 1, type: 'card-authorization', requestId: uuidv7(), sentAt: 1_750_000_000_000, seq: 3, deviceId: 'pos-1',
  card: { pan, expiry: '2712', cvv: '123' }, amount: { minor: 1250, currency: 'EUR' }, mcc: '5814', ...o,
});

/** No run of the PAN's digits (all of them, or all but the last four) in what a refusal says. */
function expectNoPan(text: string): void {
  expect(text).not.toContain(pan);
  expect(text).not.toContain(pan.slice(0, 12));
}

describe('decodeCardMessage', () => {
  it('reads an authorization and a reversal', () => {
    const auth = request({ pin: '2468', article: 'COFFEE' });
    expect(decodeCardMessage(JSON.stringify(auth))).toEqual({ ok: true, value: auth });
    const reversal = { v: 1, type: 'card-reversal', requestId: uuidv7(), sentAt: 1, deviceId: 'pos-1', authorizationId: auth.requestId, reason: 'timeout' };
    expect(decodeCardMessage(Buffer.from(JSON.stringify(reversal)))).toEqual({ ok: true, value: reversal });
  });

  it('refuses with a code, the readable requestId, and no value of the body', () => {
    const id = uuidv7();
    const cases: [unknown, string][] = [
      [{ ...request({ requestId: id }), card: { pan: `${pan}0000`, expiry: '2712', cvv: '123' } }, 'TS_ERR_INVALID_BODY'],
      [{ ...request({ requestId: id }), [pan]: pan }, 'TS_ERR_INVALID_BODY'],
      [{ ...request({ requestId: id }), merchant: '500-0000001' }, 'TS_ERR_INVALID_BODY'],
      [{ ...request({ requestId: id }), v: 2 }, 'TS_ERR_UNSUPPORTED_VERSION'],
      [{ ...request({ requestId: id }), type: 'settle' }, 'TS_ERR_INVALID_BODY'],
      [{ ...request({ requestId: id }), amount: { minor: 1.5, currency: 'EUR' } }, 'TS_ERR_INVALID_BODY'],
    ];
    for (const [body, code] of cases) {
      const decoded = decodeCardMessage(JSON.stringify(body));
      expect(decoded, JSON.stringify(decoded)).toMatchObject({ ok: false, code, requestId: id });
      expectNoPan(JSON.stringify(decoded));
    }
    expect(decodeCardMessage(`{"card":{"pan":"${pan}"`)).toEqual({ ok: false, code: 'TS_ERR_MALFORMED_JSON', detail: 'the body is not valid JSON', requestId: null });
    expect(decodeCardMessage('[1]')).toMatchObject({ ok: false, code: 'TS_ERR_MALFORMED_JSON' });
    expect(decodeCardMessage('x'.repeat(limits.messageBytesMax + 1))).toMatchObject({ ok: false, code: 'TS_ERR_PAYLOAD_TOO_LARGE' });
  });

  it('names a bad field and its rule', () => {
    const decoded = decodeCardMessage(JSON.stringify({ ...request(), card: { pan: '42x2', expiry: '2712', cvv: '123' } }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.detail).toMatch(/card\.pan/);
  });

  it('answers anything with a value or a known code, never throws, never repeats card digits (fuzzed)', () => {
    const known: ReadonlySet<string> = new Set(cardErrorCodes);
    const genuine = request() as unknown as Record<string, unknown>;
    const body = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.tuple(fc.constantFrom(...Object.keys(genuine), 'extra', pan), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ ...genuine, [k]: v })),
      fc.tuple(fc.constantFrom('pan', 'cvv', 'expiry'), fc.string({ maxLength: 30 })).map(([k, v]) => JSON.stringify({ ...genuine, card: { ...(genuine.card as object), [k]: `${pan}${v}` } })),
    );
    fc.assert(fc.property(body, (text) => {
      const decoded = decodeCardMessage(text);
      if (decoded.ok) expect(CardAuthorizationRequest.safeParse(decoded.value).success || decoded.value.type === 'card-reversal').toBe(true);
      else {
        expect(known.has(decoded.code)).toBe(true);
        expect(decoded.requestId === null || uuidV7Pattern.test(decoded.requestId)).toBe(true);
        expect(decoded.detail.length).toBeLessThanOrEqual(limits.detailLengthMax);
        expectNoPan(decoded.detail);
      }
    }), { seed: 3608, numRuns: 2000 });
  });
});

describe('tags', () => {
  const fields = {
    v: 1 as const, type: 'card-result' as const, requestId: uuidv7(), sentAt: 5, deviceId: 'pos-1', responseCode: '00', responseText: 'approved', approved: true,
    approvalCode: 'AB12CD', card: { last4: '4242', masked: '•••• •••• •••• 4242' }, amount: { minor: 1250, currency: 'EUR' }, source: 'issuer' as const,
  };

  it('a card-result verifies under the device key only, and not once a field it covers changes', () => {
    const result: DeviceCardResult = { ...fields, tag: cardResultTag(key, fields) };
    expect(verifyCardResultTag(key, result)).toBe(true);
    expect(verifyCardResultTag(otherKey, result)).toBe(false);
    for (const forged of [
      { ...result, approved: false }, { ...result, responseCode: '05' }, { ...result, approvalCode: null }, { ...result, amount: { minor: 1, currency: 'EUR' } },
      { ...result, card: { ...result.card, last4: '0000' } }, { ...result, source: 'gateway' as const }, { ...result, deviceId: 'pos-2' }, { ...result, requestId: uuidv7() },
    ]) expect(verifyCardResultTag(key, forged), JSON.stringify(forged)).toBe(false);
  });

  it('a reversal ack and an error notice verify, and not for another status, authorization or code', () => {
    const a = { v: 1 as const, type: 'card-reversal-ack' as const, requestId: uuidv7(), sentAt: 1, deviceId: 'pos-1', authorizationId: uuidv7(), status: 'reversed' as const };
    const ack: CardReversalAck = { ...a, tag: cardReversalAckTag(key, a) };
    expect(verifyCardReversalAckTag(key, ack)).toBe(true);
    expect(verifyCardReversalAckTag(key, { ...ack, status: 'pending' })).toBe(false);
    expect(verifyCardReversalAckTag(key, { ...ack, authorizationId: uuidv7() })).toBe(false);
    const e = { v: 1 as const, type: 'card-error' as const, sentAt: 1, deviceId: 'pos-1', code: 'TS_ERR_INVALID_BODY' as const, detail: 'card.pan: a card number is digits only' };
    const notice: CardErrorNotice = { ...e, tag: cardErrorTag(key, e) };
    expect(verifyCardErrorTag(key, notice)).toBe(true);
    expect(verifyCardErrorTag(key, { ...notice, code: 'TS_ERR_UNKNOWN_DEVICE' })).toBe(false);
    expect(verifyCardErrorTag(key, { ...notice, requestId: uuidv7() })).toBe(false);
  });
});
