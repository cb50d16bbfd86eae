/** What the link accepts from its result topic, and what it builds for the outbox. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outcomeAckTag, resultTag, uuidv7 } from '../../../protocol/index.ts';
import { readAnswer } from '../../../firmware-hosts/runtime/answers.ts';
import { buildOutcome, buildSettle, buildState } from '../../../firmware-hosts/runtime/bodies.ts';
import { settleDraft } from './link-fixtures.ts';

const key = randomBytes(32);
const deviceId = 'gate-7';
const result = { v: 1, type: 'result', requestId: uuidv7(), sentAt: 1, deviceId, status: 'approved', amount: { minor: 5, currency: 'EUR' } } as const;
const ack = { v: 1, type: 'outcome-ack', requestId: uuidv7(), sentAt: 1, deviceId, settleRequestId: uuidv7(), status: 'applied' } as const;
const bytes = (o: object) => Buffer.from(JSON.stringify(o));

describe('readAnswer', () => {
  it('accepts a result and an outcome-ack tagged under the device key', () => {
    expect(readAnswer(bytes({ ...result, tag: resultTag(key, result) }), deviceId, key)).toMatchObject({ ok: true, kind: 'result' });
    expect(readAnswer(bytes({ ...ack, tag: outcomeAckTag(key, ack) }), deviceId, key)).toMatchObject({ ok: true, kind: 'outcome-ack' });
  });

  it('rejects a bad tag, another device, a tampered status and garbage, with a reason', () => {
    expect(readAnswer(bytes({ ...result, tag: resultTag(randomBytes(32), result) }), deviceId, key)).toMatchObject({ ok: false, why: 'bad-tag' });
    expect(readAnswer(bytes({ ...result, status: 'declined', tag: resultTag(key, result) }), deviceId, key)).toMatchObject({ ok: false, why: 'bad-tag' });
    const other = { ...result, deviceId: 'gate-8' };
    expect(readAnswer(bytes({ ...other, tag: resultTag(key, other) }), deviceId, key)).toMatchObject({ ok: false, why: 'wrong-device' });
    expect(readAnswer(Buffer.from('{"type":"result"'), deviceId, key)).toMatchObject({ ok: false, why: 'malformed' });
    expect(readAnswer(bytes({ ...result, tag: resultTag(key, result), extra: 1 }), deviceId, key)).toMatchObject({ ok: false, why: 'malformed' });
  });

  it('never throws and never accepts arbitrary bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      expect(readAnswer(Buffer.from(b), deviceId, key).ok).toBe(false);
    }), { seed: 3, numRuns: 300 });
  });
});

describe('bodies', () => {
  it('builds schema-valid bodies stamped with the seq', () => {
    const draft = settleDraft(deviceId, '001-0000001', { walletId: uuidv7(), walletKey: randomBytes(32).toString('base64') }, 10);
    expect(JSON.parse(buildSettle(deviceId, draft, 41))).toMatchObject({ type: 'settle', seq: 41, requestId: draft.requestId, deviceId });
    const o = buildOutcome(deviceId, { settleRequestId: draft.requestId, outcome: 'passed' });
    expect(JSON.parse(o.body(42))).toMatchObject({ type: 'outcome', seq: 42, requestId: o.requestId });
    expect(JSON.parse(buildState(deviceId, null, 'offline', 'gate', null))).not.toHaveProperty('seq');
  });

  it('refuses a body the core would refuse, with TS_ERR_LINK_INVALID_MESSAGE', () => {
    const draft = settleDraft(deviceId, '001-0000001', { walletId: uuidv7(), walletKey: randomBytes(32).toString('base64') }, 10);
    const bad = { ...draft, purchase: { ...draft.purchase, quantity: 0 } };
    expect(() => buildSettle(deviceId, bad, 1)).toThrow(expect.objectContaining({ code: 'TS_ERR_LINK_INVALID_MESSAGE' }));
  });
});
