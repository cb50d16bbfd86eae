import { describe, expect, it } from 'vitest';
import {
  ReasonCode,
  decodeMessage,
  limits,
  messageSchemas,
  parseMessage,
  reasonCodes,
  reasonText,
} from '../../protocol/index.ts';
import type { MessageType } from '../../protocol/index.ts';
import { deviceConfig, deviceEvent, deviceState, outcome, requestId, settleRequest, settleResult, validMessages } from './fixtures.ts';

const messageTypes = Object.keys(messageSchemas) as MessageType[];
const json = (body: unknown) => JSON.stringify(body);

/** Decodes a settle request after `change` edits a fresh valid one. */
function settleWith(change: (body: Record<string, unknown> & ReturnType<typeof settleRequest>) => void) {
  const body = settleRequest();
  change(body);
  return decodeMessage('settle', json(body));
}

function expectRefused(result: ReturnType<typeof decodeMessage>, reason: ReasonCode, id: string | null = requestId) {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.reason).toBe(reason);
  expect(result.requestId).toBe(id);
  expect(result.message.length).toBeGreaterThan(0);
}

describe('reason codes', () => {
  it('are stable: never renumbered, never reused, new ones only at the end', () => {
    expect(reasonCodes).toEqual([
      'malformed-json', 'invalid-request', 'unknown-field', 'invalid-amount', 'malformed-id', 'unsupported-version',
      'payload-too-large', 'device-mismatch', 'unknown-device', 'device-not-active', 'merchant-mismatch', 'unknown-account',
      'account-not-active', 'currency-mismatch', 'unknown-wallet', 'wallet-not-active', 'bad-cryptogram', 'counter-reused',
      'not-eligible', 'over-limit', 'insufficient-funds', 'duplicate-mismatch', 'ticket-unavailable', 'emoney-unavailable',
    ]);
    expect(new Set(reasonCodes).size).toBe(reasonCodes.length);
    expect(Object.keys(reasonText).sort()).toEqual([...reasonCodes].sort());
    for (const code of reasonCodes) expect(ReasonCode.safeParse(code).success).toBe(true);
    expect(ReasonCode.safeParse('no-such-reason').success).toBe(false);
  });
});

describe('valid messages', () => {
  it.each(messageTypes)('a valid %s parses, from a string and from bytes, to the same value', (type) => {
    const body = validMessages[type]();
    for (const payload of [json(body), Buffer.from(json(body)), new TextEncoder().encode(json(body))]) {
      const result = decodeMessage(type, payload);
      expect(result).toEqual({ ok: true, value: body });
    }
  });

  it.each(messageTypes)('a valid %s is refused when decoded as another type', (type) => {
    const body = json(validMessages[type]());
    for (const other of messageTypes.filter((t) => t !== type)) {
      expect(decodeMessage(other, body).ok, `${type} as ${other}`).toBe(false);
    }
  });

  it('optional fields may be left out', () => {
    const minimal = settleRequest();
    delete minimal.seq;
    delete minimal.restrictions;
    delete minimal.outcomeDeadlineSec;
    expect(decodeMessage('settle', json(minimal)).ok).toBe(true);
    const state = deviceState();
    delete state.health;
    delete state.kind;
    delete state.machineState;
    expect(decodeMessage('state', json(state)).ok).toBe(true);
    const config = deviceConfig();
    delete config.catalog;
    delete config.fareTable;
    delete config.denyList;
    delete config.keys;
    expect(decodeMessage('config', json(config)).ok).toBe(true);
  });
});

describe('refusals and their reason codes', () => {
  it('unknown fields, at any depth, are refused with unknown-field', () => {
    expectRefused(settleWith((b) => { b.extra = 1; }), 'unknown-field');
    expectRefused(settleWith((b) => { Object.assign(b.purchase, { discount: 10 }); }), 'unknown-field');
    expectRefused(settleWith((b) => { Object.assign(b.purchase.amount, { decimals: 2 }); }), 'unknown-field');
    expectRefused(settleWith((b) => { Object.assign(b.wallet, { uid: '04a1b2c3' }); }), 'unknown-field');
    expectRefused(settleWith((b) => { Object.assign(b.restrictions!, { minAge: 18 }); }), 'unknown-field');
    expectRefused(decodeMessage('settle', json(settleRequest()).replace(/^\{/, '{"__proto__":{"x":1},')), 'unknown-field');
    expectRefused(decodeMessage('settle', json(settleRequest()).replace(/^\{/, '{"constructor":1,')), 'unknown-field');
    const state = deviceState();
    Object.assign(state.health!, { temperature: 40 });
    expectRefused(decodeMessage('state', json(state)), 'unknown-field', state.requestId);
  });

  it('amounts that are not a positive safe integer within the limit are refused with invalid-amount', () => {
    for (const minor of [0, -1, -250, 1.5, 0.1, limits.amountMinorMax + 1, Number.MAX_SAFE_INTEGER, '250', null, true, [250], { minor: 250 }]) {
      expectRefused(settleWith((b) => { Object.assign(b.purchase.amount, { minor }); }), 'invalid-amount');
    }
    expectRefused(decodeMessage('settle', json(settleRequest()).replace('"minor":250', '"minor":1e400')), 'invalid-amount');
    expectRefused(settleWith((b) => { Object.assign(b.purchase, { amount: 250 }); }), 'invalid-amount');
    expectRefused(settleWith((b) => { Object.assign(b.purchase, { amount: undefined }); }), 'invalid-amount');
    expectRefused(settleWith((b) => { Object.assign(b.purchase.amount, { currency: 'eur' }); }), 'invalid-amount');
    expect(settleWith((b) => { b.purchase.amount.minor = limits.amountMinorMax; }).ok).toBe(true);
    expect(settleWith((b) => { b.purchase.amount.minor = 1; }).ok).toBe(true);
    const result = settleResult();
    Object.assign(result, { amount: { minor: 0, currency: 'EUR' } });
    expectRefused(decodeMessage('result', json(result)), 'invalid-amount');
  });

  it('bad ids are refused with malformed-id', () => {
    expectRefused(settleWith((b) => { b.wallet.walletId = 'not-a-uuid'; }), 'malformed-id');
    expectRefused(settleWith((b) => { b.wallet.walletId = b.wallet.walletId.toUpperCase(); }), 'malformed-id');
    expectRefused(settleWith((b) => { b.wallet.walletId = '01937a4e-0000-4000-8000-000000000001'; }), 'malformed-id');
    expectRefused(settleWith((b) => { b.deviceId = 'VM-0042'; }), 'malformed-id');
    expectRefused(settleWith((b) => { b.deviceId = 'vm/0042'; }), 'malformed-id');
    expectRefused(settleWith((b) => { b.deviceId = '+'; }), 'malformed-id');
    expectRefused(settleWith((b) => { b.purchase.merchant = '1-42'; }), 'malformed-id');
    for (const bad of ['not-a-uuid', requestId.toUpperCase(), requestId.replace('-7abc-', '-4abc-'), 42]) {
      expectRefused(settleWith((b) => { Object.assign(b, { requestId: bad }); }), 'malformed-id', null);
    }
    const o = outcome();
    o.settleRequestId = 'x';
    expectRefused(decodeMessage('outcome', json(o)), 'malformed-id', o.requestId);
  });

  it('another protocol version is refused with unsupported-version', () => {
    expectRefused(settleWith((b) => { Object.assign(b, { v: 2 }); }), 'unsupported-version');
    expectRefused(settleWith((b) => { Object.assign(b, { v: 0 }); }), 'unsupported-version');
    expectRefused(settleWith((b) => { Object.assign(b, { v: '1' }); }), 'unsupported-version');
    expectRefused(settleWith((b) => { Object.assign(b, { v: 1.0000001 }); }), 'unsupported-version');
    // No `v` at all is not a version this code speaks either.
    expectRefused(settleWith((b) => { Object.assign(b, { v: undefined }); }), 'unsupported-version');
    for (const type of messageTypes) {
      expectRefused(decodeMessage(type, json({ ...validMessages[type](), v: 2 })), 'unsupported-version', validMessages[type]().requestId);
    }
  });

  it('other schema violations are refused with invalid-request', () => {
    expectRefused(settleWith((b) => { Object.assign(b, { type: 'result' }); }), 'invalid-request');
    expectRefused(settleWith((b) => { b.purchase.quantity = 0; }), 'invalid-request');
    expectRefused(settleWith((b) => { b.wallet.counter = -1; }), 'invalid-request');
    expectRefused(settleWith((b) => { b.wallet.cryptogram = 'AB'.repeat(32); }), 'invalid-request');
    expectRefused(settleWith((b) => { b.sentAt = -1; }), 'invalid-request');
    expectRefused(settleWith((b) => { Object.assign(b, { sentAt: '2024-11-24T06:00:00Z' }); }), 'invalid-request');
  });

  it('a body that is not one JSON object is refused with malformed-json and no requestId', () => {
    const payloads: (string | Uint8Array)[] = [
      '', ' ', '{', '}', '{"a":}', "{'v':1}", 'undefined', 'NaN', '{"v":1,}', `${json(settleRequest())}x`, `${json(settleRequest())}${json(settleRequest())}`,
      '[]', 'null', '1', '"settle"', 'true', `[${json(settleRequest())}]`,
      new Uint8Array([0xff, 0xfe, 0x00]), new Uint8Array(0),
    ];
    for (const payload of payloads) expectRefused(decodeMessage('settle', payload), 'malformed-json', null);
    expectRefused(parseMessage('settle', [settleRequest()]), 'malformed-json', null);
    expectRefused(parseMessage('settle', undefined), 'malformed-json', null);
  });

  it('a body over the byte limit is refused with payload-too-large before it is parsed', () => {
    const body = json(settleRequest());
    const atLimit = body + ' '.repeat(limits.messageBytesMax - Buffer.byteLength(body));
    expect(Buffer.byteLength(atLimit)).toBe(limits.messageBytesMax);
    expect(decodeMessage('settle', atLimit).ok).toBe(true);
    expect(decodeMessage('settle', Buffer.from(atLimit)).ok).toBe(true);
    expectRefused(decodeMessage('settle', `${atLimit} `), 'payload-too-large', null);
    expectRefused(decodeMessage('settle', Buffer.from(`${atLimit} `)), 'payload-too-large', null);
    // Bytes, not UTF-16 code units: 'é' is two bytes.
    const multiByte = `${body.slice(0, -1)},"x":"${'é'.repeat(limits.messageBytesMax / 2)}"}`;
    expect(multiByte.length).toBeLessThan(limits.messageBytesMax + 100);
    expectRefused(decodeMessage('settle', multiByte), 'payload-too-large', null);
    expectRefused(decodeMessage('settle', '{'.repeat(limits.messageBytesMax + 1)), 'payload-too-large', null);
    expectRefused(decodeMessage('settle', body, body.length - 1), 'payload-too-large', null);
  });

  it('config bodies get the larger config limit', () => {
    const config = deviceConfig();
    config.catalog = Array.from({ length: 100 }, (_, i) => ({ article: `article-${i}`, name: `Article number ${i}`, price: { minor: 100 + i, currency: 'EUR' } }));
    const body = json(config);
    expect(Buffer.byteLength(body)).toBeGreaterThan(limits.messageBytesMax);
    expect(decodeMessage('config', body).ok).toBe(true);
    expectRefused(decodeMessage('config', body + ' '.repeat(limits.configBytesMax)), 'payload-too-large', null);
  });

  it('a refusal carries the requestId whenever the body is an object with a valid one', () => {
    const cases: [MessageType, Record<string, unknown>][] = [
      ['settle', { requestId }],
      ['settle', { requestId, v: 2 }],
      ['settle', { ...settleRequest(), purchase: 'cola' }],
      ['settle', { ...settleRequest(), deviceId: 'Bad/Id' }],
      ['outcome', { ...outcome(), outcome: 'exploded' }],
      ['event', { ...deviceEvent(), kind: 'party' }],
      ['result', { ...settleResult(), tag: 'x' }],
    ];
    for (const [type, body] of cases) {
      const result = decodeMessage(type, json(body));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.requestId).toBe(body.requestId);
    }
    expectRefused(decodeMessage('settle', json({ v: 1, type: 'settle', requestId: 'nope' })), 'malformed-id', null);
  });
});

describe('bounds: every string and array has a maximum', () => {
  const accepts = (type: MessageType, body: unknown) => parseMessage(type, body).ok;

  it('settle: article, quantity, counter, memberships, cooling-off, outcome deadline, deviceId, sentAt, seq', () => {
    const ok = (change: (b: ReturnType<typeof settleRequest>) => void) => { const b = settleRequest(); change(b); return accepts('settle', b); };
    expect(ok((b) => { b.purchase.article = 'a'.repeat(limits.articleIdLengthMax); })).toBe(true);
    expect(ok((b) => { b.purchase.article = 'a'.repeat(limits.articleIdLengthMax + 1); })).toBe(false);
    expect(ok((b) => { b.purchase.article = ''; })).toBe(false);
    expect(ok((b) => { b.purchase.quantity = limits.quantityMax; })).toBe(true);
    expect(ok((b) => { b.purchase.quantity = limits.quantityMax + 1; })).toBe(false);
    expect(ok((b) => { b.wallet.counter = limits.walletCounterMax; })).toBe(true);
    expect(ok((b) => { b.wallet.counter = limits.walletCounterMax + 1; })).toBe(false);
    expect(ok((b) => { b.restrictions!.eligibility!.membershipsAny = Array.from({ length: limits.membershipsMax }, (_, i) => `m${i}`); })).toBe(true);
    expect(ok((b) => { b.restrictions!.eligibility!.membershipsAny = Array.from({ length: limits.membershipsMax + 1 }, (_, i) => `m${i}`); })).toBe(false);
    expect(ok((b) => { b.restrictions!.eligibility!.membershipsAny = []; })).toBe(false);
    expect(ok((b) => { b.restrictions!.eligibility!.membershipsAny = ['m'.repeat(limits.membershipLengthMax)]; })).toBe(true);
    expect(ok((b) => { b.restrictions!.eligibility!.membershipsAny = ['m'.repeat(limits.membershipLengthMax + 1)]; })).toBe(false);
    expect(ok((b) => { b.restrictions!.coolingOffSec = limits.coolingOffSecMax; })).toBe(true);
    expect(ok((b) => { b.restrictions!.coolingOffSec = limits.coolingOffSecMax + 1; })).toBe(false);
    expect(ok((b) => { b.outcomeDeadlineSec = limits.outcomeDeadlineSecMax; })).toBe(true);
    expect(ok((b) => { b.outcomeDeadlineSec = limits.outcomeDeadlineSecMax + 1; })).toBe(false);
    expect(ok((b) => { b.deviceId = 'd'.repeat(limits.deviceIdLengthMax); })).toBe(true);
    expect(ok((b) => { b.deviceId = 'd'.repeat(limits.deviceIdLengthMax + 1); })).toBe(false);
    expect(ok((b) => { b.sentAt = limits.epochMsMax; })).toBe(true);
    expect(ok((b) => { b.sentAt = limits.epochMsMax + 1; })).toBe(false);
    expect(ok((b) => { b.seq = Number.MAX_SAFE_INTEGER; })).toBe(true);
    expect(ok((b) => { b.seq = Number.MAX_SAFE_INTEGER + 1; })).toBe(false);
  });

  it('outcome and event detail, state faults and machine state', () => {
    expect(accepts('outcome', { ...outcome(), detail: 'x'.repeat(limits.detailLengthMax) })).toBe(true);
    expect(accepts('outcome', { ...outcome(), detail: 'x'.repeat(limits.detailLengthMax + 1) })).toBe(false);
    expect(accepts('event', { ...deviceEvent(), detail: 'x'.repeat(limits.detailLengthMax) })).toBe(true);
    expect(accepts('event', { ...deviceEvent(), detail: 'x'.repeat(limits.detailLengthMax + 1) })).toBe(false);
    const withHealth = (faults: string[]) => ({ ...deviceState(), health: { ...deviceState().health!, faults } });
    expect(accepts('state', withHealth(Array.from({ length: 32 }, () => 'f'.repeat(64))))).toBe(true);
    expect(accepts('state', withHealth(Array.from({ length: 33 }, () => 'f')))).toBe(false);
    expect(accepts('state', withHealth(['f'.repeat(65)]))).toBe(false);
    expect(accepts('state', withHealth(['']))).toBe(false);
    expect(accepts('state', { ...deviceState(), machineState: 'm'.repeat(65) })).toBe(false);
  });

  it('config: catalog, fare table, deny list, keys', () => {
    const item = { article: 'a', name: 'n', price: { minor: 1, currency: 'EUR' } };
    const fare = { from: 'a', to: 'b', fareMinor: 1 };
    const key = { keyId: 'k', publicKey: 'A'.repeat(43) };
    const wallet = '01937a4e-0000-7000-8000-000000000009';
    const config = (extra: Record<string, unknown>) => ({ ...deviceConfig(), ...extra });
    expect(accepts('config', config({ catalog: Array.from({ length: limits.catalogItemsMax }, () => item) }))).toBe(true);
    expect(accepts('config', config({ catalog: Array.from({ length: limits.catalogItemsMax + 1 }, () => item) }))).toBe(false);
    expect(accepts('config', config({ catalog: [{ ...item, name: 'n'.repeat(limits.articleNameLengthMax + 1) }] }))).toBe(false);
    expect(accepts('config', config({ fareTable: { currency: 'EUR', maxFareMinor: 1, fares: Array.from({ length: limits.fareEntriesMax }, () => fare) } }))).toBe(true);
    expect(accepts('config', config({ fareTable: { currency: 'EUR', maxFareMinor: 1, fares: Array.from({ length: limits.fareEntriesMax + 1 }, () => fare) } }))).toBe(false);
    expect(accepts('config', config({ fareTable: { currency: 'EUR', maxFareMinor: 1, fares: [{ ...fare, from: 's'.repeat(limits.stationIdLengthMax + 1) }] } }))).toBe(false);
    expect(accepts('config', config({ denyList: Array.from({ length: limits.denyListMax }, () => wallet) }))).toBe(true);
    expect(accepts('config', config({ denyList: Array.from({ length: limits.denyListMax + 1 }, () => wallet) }))).toBe(false);
    expect(accepts('config', config({ keys: { issuer: Array.from({ length: limits.publicKeysMax }, () => key), gates: [] } }))).toBe(true);
    expect(accepts('config', config({ keys: { issuer: Array.from({ length: limits.publicKeysMax + 1 }, () => key), gates: [] } }))).toBe(false);
    expect(accepts('config', config({ keys: { issuer: [{ ...key, publicKey: `${'A'.repeat(42)}=` }], gates: [] } }))).toBe(false);
    expect(accepts('config', config({ version: 0 }))).toBe(false);
  });
});
