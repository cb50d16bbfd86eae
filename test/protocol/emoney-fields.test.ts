/**
 * Claim 34 on the wire: the `emoney` spec of a SettleRequest and a catalog
 * item, the `emoney` token of a SettleResult, the outcomes that confirm an
 * e-money sale at a device, and the wallet API's e-money bodies and answers
 * (protocol/emoney-api.ts). Fuzzed: whatever arrives in those fields, decoding
 * returns a value that re-parses or a coded refusal, never a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EmoneyDepositAnswer, EmoneyDepositBody, EmoneyInboxPage, EmoneyIssueAnswer, EmoneyIssueBody, EmoneyToken, SettleRequest, SettleResult,
  decodeMessage, emoneyApiLimits, emoneyReasons, emoneyTokenBytes, generateSigningKeyPair, outcomeKinds, reasonCodes, resultTag, signEd25519,
  successfulOutcomes, uuidv7,
} from '../../protocol/index.ts';
import { deviceConfig, deviceId, deviceKey, outcome, requestId, sentAt, settleRequest, walletId } from './fixtures.ts';

const issuer = generateSigningKeyPair('issuer-wire-test');
const knownReasons: ReadonlySet<string> = new Set(reasonCodes);

function token(over: Partial<EmoneyToken> = {}): EmoneyToken {
  const unsigned = { serial: uuidv7(sentAt), amount: { minor: 2_000, currency: 'EUR' }, holder: walletId, issuedAt: sentAt, float: '000-0000004', keyId: issuer.keyId, ...over };
  return { ...unsigned, sig: signEd25519(issuer, emoneyTokenBytes(unsigned)) };
}

/** An e-money settle request: the fixture without what an e-money purchase may not carry. */
function emoneyRequest(): Record<string, unknown> {
  const { restrictions: _r, outcomeDeadlineSec: _d, ...rest } = settleRequest();
  return { ...rest, emoney: { kind: 'issue' } };
}

function approvedWithToken(t: unknown): Record<string, unknown> {
  const fields = { deviceId, requestId, status: 'approved' as const, amount: { minor: 2_000, currency: 'EUR' } };
  return { v: 1, type: 'result', sentAt: sentAt + 40, ...fields, emoney: t, tag: resultTag(deviceKey, fields) };
}

describe('outcomes', () => {
  it('are stable: the e-money outcomes are appended, never inserted; both confirm the sale', () => {
    expect(outcomeKinds).toEqual(['dispensed', 'vend-failed', 'passed', 'ticket-delivered', 'ticket-retrievable', 'not-passed', 'emoney-delivered', 'emoney-retrievable']);
    expect(successfulOutcomes.has('emoney-delivered')).toBe(true);
    expect(successfulOutcomes.has('emoney-retrievable')).toBe(true);
    expect(successfulOutcomes.has('vend-failed')).toBe(false);
    for (const kind of ['emoney-delivered', 'emoney-retrievable'] as const) expect(decodeMessage('outcome', JSON.stringify({ ...outcome(), outcome: kind })).ok).toBe(true);
  });

  it('emoney-unavailable is a reason code, the last one', () => {
    expect(reasonCodes.at(-1)).toBe('emoney-unavailable');
  });
});

describe('SettleRequest.emoney and SettleResult.emoney', () => {
  it('an e-money request parses and keeps its spec; another kind or an extra key is refused with a code', () => {
    const ok = decodeMessage('settle', JSON.stringify(emoneyRequest()));
    expect(ok.ok && ok.value.emoney).toEqual({ kind: 'issue' });
    const other = decodeMessage('settle', JSON.stringify({ ...emoneyRequest(), emoney: { kind: 'redeem' } }));
    expect(!other.ok && other.reason).toBe('invalid-request');
    const extra = decodeMessage('settle', JSON.stringify({ ...emoneyRequest(), emoney: { kind: 'issue', amount: 5 } }));
    expect(!extra.ok && extra.reason).toBe('unknown-field');
    expect(SettleRequest.safeParse({ ...emoneyRequest(), emoney: null }).success).toBe(false);
  });

  it('an approved result carries a token; a malformed token is refused, a token with an extra field too', () => {
    const t = token();
    const decoded = decodeMessage('result', JSON.stringify(approvedWithToken(t)));
    expect(decoded.ok && decoded.value.emoney).toEqual(t);
    expect(decodeMessage('result', JSON.stringify(approvedWithToken({ ...t, sig: 'x' }))).ok).toBe(false);
    expect(decodeMessage('result', JSON.stringify(approvedWithToken({ ...t, amount: { minor: 0.5, currency: 'EUR' } }))).ok).toBe(false);
    expect(decodeMessage('result', JSON.stringify(approvedWithToken({ ...t, spent: true }))).ok).toBe(false);
  });

  it('a catalog item may be e-money', () => {
    const config = { ...deviceConfig(), catalog: [{ slot: 'E1', article: 'emoney-20', name: 'E-money 20.00', price: { minor: 2_000, currency: 'EUR' }, emoney: { kind: 'issue' } }] };
    expect(decodeMessage('config', JSON.stringify(config)).ok).toBe(true);
    expect(decodeMessage('config', JSON.stringify({ ...config, catalog: [{ ...config.catalog[0], emoney: {} }] })).ok).toBe(false);
  });

  it('fuzzed: any value in `emoney` of a request or a result decodes to a value that re-parses, or to a known reason', () => {
    const anyValue = fc.oneof(fc.anything({ maxDepth: 3 }), fc.record({ kind: fc.oneof(fc.constant('issue'), fc.string({ maxLength: 8 }), fc.anything()) }, { requiredKeys: [] }));
    fc.assert(fc.property(anyValue, (value) => {
      const text = JSON.stringify({ ...emoneyRequest(), emoney: value }) as string | undefined;
      if (text === undefined) return true;
      const r = decodeMessage('settle', text);
      if (!r.ok) return knownReasons.has(r.reason);
      // `undefined` drops the key from the JSON: a plain request.
      return SettleRequest.safeParse(r.value).success && (value === undefined ? r.value.emoney === undefined : JSON.stringify(r.value.emoney) === '{"kind":"issue"}');
    }), { numRuns: 1500 });
    const t = token();
    const tokenLike = fc.oneof(
      fc.anything({ maxDepth: 3 }),
      fc.record({ field: fc.constantFrom(...(Object.keys(t) as (keyof EmoneyToken)[])), value: fc.anything({ maxDepth: 2 }) }).map(({ field, value }) => ({ ...t, [field]: value })),
    );
    fc.assert(fc.property(tokenLike, (value) => {
      const text = JSON.stringify(approvedWithToken(value)) as string | undefined;
      if (text === undefined) return true;
      const r = decodeMessage('result', text);
      if (!r.ok) return knownReasons.has(r.reason);
      return SettleResult.safeParse(r.value).success && (value === undefined ? r.value.emoney === undefined : EmoneyToken.safeParse(r.value.emoney).success);
    }), { numRuns: 1500 });
  });
});

describe('wallet API e-money schemas (shared by the core and the phone)', () => {
  it('bodies: issue and deposit, bounded', () => {
    expect(EmoneyIssueBody.safeParse({ requestId, amount: { minor: 500, currency: 'EUR' }, recipient: walletId }).success).toBe(true);
    expect(EmoneyIssueBody.safeParse({ requestId, amount: { minor: 500, currency: 'EUR' }, recipient: walletId, note: 'x' }).success).toBe(false);
    expect(EmoneyDepositBody.safeParse({ requestId, tokens: [token()] }).success).toBe(true);
    expect(EmoneyDepositBody.safeParse({ requestId, tokens: [] }).success).toBe(false);
    expect(EmoneyDepositBody.safeParse({ requestId, tokens: Array.from({ length: emoneyApiLimits.depositTokensMax + 1 }, () => token()) }).success).toBe(false);
  });

  it('answers: every decision shape, reasons from the list only', () => {
    expect(EmoneyIssueAnswer.safeParse({ requestId, status: 'issued', tokens: [token()] }).success).toBe(true);
    for (const reason of emoneyReasons) expect(EmoneyIssueAnswer.safeParse({ requestId, status: 'declined', reason }).success).toBe(true);
    expect(EmoneyIssueAnswer.safeParse({ requestId, status: 'declined', reason: 'no-such-reason' }).success).toBe(false);
    expect(EmoneyIssueAnswer.safeParse({ requestId, status: 'issued', tokens: [] }).success).toBe(false);
    const t = token();
    expect(EmoneyDepositAnswer.safeParse({ requestId, status: 'deposited', amount: t.amount, serials: [t.serial] }).success).toBe(true);
    expect(EmoneyDepositAnswer.safeParse({ requestId, status: 'refused', reason: 'already-spent', serial: t.serial }).success).toBe(true);
    expect(EmoneyDepositAnswer.safeParse({ requestId, status: 'refused', reason: 'emoney-unavailable', serial: null }).success).toBe(true);
    expect(EmoneyDepositAnswer.safeParse({ requestId, status: 'refused', reason: 'already-spent', serial: 'not-a-serial' }).success).toBe(false);
    expect(EmoneyInboxPage.safeParse({ walletId, tokens: [t], nextAfter: null }).success).toBe(true);
    expect(EmoneyInboxPage.safeParse({ walletId, tokens: [t], nextAfter: t.serial, more: true }).success).toBe(false);
  });

  it('fuzzed: arbitrary JSON never throws in any of them', () => {
    const schemas = [EmoneyIssueBody, EmoneyDepositBody, EmoneyIssueAnswer, EmoneyDepositAnswer, EmoneyInboxPage];
    fc.assert(fc.property(fc.json({ maxDepth: 4 }), fc.constantFrom(...schemas), (text, schema) => {
      const r = schema.safeParse(JSON.parse(text));
      return typeof r.success === 'boolean';
    }), { numRuns: 2000 });
  });
});
