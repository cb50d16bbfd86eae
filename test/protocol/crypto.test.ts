import { createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalBytes,
  deriveDeviceKey,
  deriveKey,
  deriveWalletKey,
  domains,
  generateSigningKeyPair,
  macEquals,
  masterKeyBytes,
  outcomeAckTag,
  purchaseBytes,
  resultBytes,
  resultTag,
  signEd25519,
  verifyEd25519,
  verifyOutcomeAckTag,
  verifyResultTag,
  verifyWalletCryptogram,
  walletCryptogram,
} from '../../protocol/index.ts';
import type { PurchaseAuthInput, SettleResult } from '../../protocol/index.ts';
import { anyString, deviceKey, deviceMasterKey, issuerMasterKey, outcomeAck, settleResult, walletId, walletKey } from './fixtures.ts';

const otherWalletId = '01937a4e-0000-7000-8000-000000000002';
const hmacOf = (key: Uint8Array, bytes: Uint8Array) => createHmac('sha256', key).update(bytes).digest('hex');

describe('key derivation (HKDF-SHA256)', () => {
  it('is deterministic, 32 bytes, and uses salt "tapsettle/v1" and info "<purpose>-key:<id>"', () => {
    const key = deriveWalletKey(issuerMasterKey, walletId);
    expect(key.byteLength).toBe(32);
    expect(deriveWalletKey(issuerMasterKey, walletId).equals(key)).toBe(true);
    expect(key.equals(Buffer.from(hkdfSync('sha256', issuerMasterKey, 'tapsettle/v1', `wallet-key:${walletId}`, 32)))).toBe(true);
    expect(deriveDeviceKey(deviceMasterKey, 'vm-0042').equals(Buffer.from(hkdfSync('sha256', deviceMasterKey, 'tapsettle/v1', 'device-key:vm-0042', 32)))).toBe(true);
    expect(deriveKey(issuerMasterKey, 'wallet', walletId).equals(key)).toBe(true);
  });

  it('differs per wallet, per master key and per purpose', () => {
    const key = deriveWalletKey(issuerMasterKey, walletId);
    expect(deriveWalletKey(issuerMasterKey, otherWalletId).equals(key)).toBe(false);
    expect(deriveWalletKey(Buffer.alloc(32, 0x12), walletId).equals(key)).toBe(false);
    expect(deriveDeviceKey(issuerMasterKey, walletId).equals(key)).toBe(false);
    const keys = new Set<string>();
    for (let i = 0; i < 200; i += 1) keys.add(deriveWalletKey(issuerMasterKey, `01937a4e-0000-7000-8000-${String(i).padStart(12, '0')}`).toString('hex'));
    expect(keys.size).toBe(200);
  });

  it('refuses a master key shorter than 32 bytes', () => {
    expect(masterKeyBytes).toBe(32);
    for (const length of [0, 1, 16, 31]) {
      expect(() => deriveWalletKey(Buffer.alloc(length, 1), walletId)).toThrow(RangeError);
      expect(() => deriveDeviceKey(Buffer.alloc(length, 1), 'vm-0042')).toThrow(RangeError);
    }
    expect(deriveWalletKey(Buffer.alloc(64, 1), walletId).byteLength).toBe(32);
  });
});

describe('macEquals', () => {
  const mac = 'ab'.repeat(32);
  it('is true only for the same 64 lower-case hex digits', () => {
    expect(macEquals(mac, `${mac}`)).toBe(true);
    expect(macEquals(mac, `${'ab'.repeat(31)}ac`)).toBe(false);
    expect(macEquals(mac, `ac${'ab'.repeat(31)}`)).toBe(false);
  });

  it('is false, never throws, for the wrong length or non-hex', () => {
    const bad = [
      '', 'ab', 'ab'.repeat(31), `${mac}ab`, `${mac}a`, 'zz'.repeat(32), `ab${'zz'.repeat(31)}`, `${'ab'.repeat(31)}a `,
      'AB'.repeat(32), `0x${'ab'.repeat(31)}`, '\u00e9'.repeat(64), `${'ab'.repeat(31)}\u0000\u0000`,
    ];
    for (const given of bad) {
      expect(macEquals(mac, given), JSON.stringify(given)).toBe(false);
      expect(macEquals(given, mac), JSON.stringify(given)).toBe(false);
    }
    const nearlyMacs = fc.oneof(anyString(80), fc.stringMatching(/^[0-9a-fA-F]{62,66}$/), fc.constant(mac));
    fc.assert(fc.property(nearlyMacs, (given) => macEquals(mac, given) === (given === mac)), { numRuns: 1000 });
  });
});

const hexOfBytes = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const uuidV7Arb = fc.tuple(fc.integer({ min: 0, max: 2 ** 48 - 1 }), hexOfBytes(10)).map(([ms, rnd]) => {
  const h = ms.toString(16).padStart(12, '0') + rnd;
  const variant = '89ab'[Number.parseInt(h[16]!, 16) & 3]!;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
});
const deviceIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
const accountIdArb = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 9_999_999 })).map(([b, n]) => `${String(b).padStart(3, '0')}-${String(n).padStart(7, '0')}`);
const currencyArb = fc.stringMatching(/^[A-Z]{3}$/);
const articleArb = fc.string({ minLength: 1, maxLength: 64 });

const purchaseInputArb: fc.Arbitrary<PurchaseAuthInput> = fc.record({
  walletId: uuidV7Arb,
  deviceId: deviceIdArb,
  purchase: fc.record({
    merchant: accountIdArb,
    amount: fc.record({ minor: fc.integer({ min: 1, max: 100_000_000 }), currency: currencyArb }),
    article: articleArb,
    quantity: fc.integer({ min: 1, max: 99 }),
  }),
  deviceNonce: hexOfBytes(16),
  counter: fc.integer({ min: 0, max: 0xffff_ffff }),
});

type Change = (input: PurchaseAuthInput) => fc.Arbitrary<PurchaseAuthInput>;
/** One change per authenticated field; each yields an input that differs in that field only. */
const singleFieldChanges: Record<string, Change> = {
  walletId: (i) => uuidV7Arb.filter((v) => v !== i.walletId).map((walletId) => ({ ...i, walletId })),
  deviceId: (i) => deviceIdArb.filter((v) => v !== i.deviceId).map((deviceId) => ({ ...i, deviceId })),
  merchant: (i) => accountIdArb.filter((v) => v !== i.purchase.merchant).map((merchant) => ({ ...i, purchase: { ...i.purchase, merchant } })),
  minor: (i) => fc.integer({ min: 1, max: 100_000_000 }).filter((v) => v !== i.purchase.amount.minor).map((minor) => ({ ...i, purchase: { ...i.purchase, amount: { ...i.purchase.amount, minor } } })),
  currency: (i) => currencyArb.filter((v) => v !== i.purchase.amount.currency).map((currency) => ({ ...i, purchase: { ...i.purchase, amount: { ...i.purchase.amount, currency } } })),
  article: (i) => articleArb.filter((v) => v !== i.purchase.article).map((article) => ({ ...i, purchase: { ...i.purchase, article } })),
  quantity: (i) => fc.integer({ min: 1, max: 99 }).filter((v) => v !== i.purchase.quantity).map((quantity) => ({ ...i, purchase: { ...i.purchase, quantity } })),
  deviceNonce: (i) => hexOfBytes(16).filter((v) => v !== i.deviceNonce).map((deviceNonce) => ({ ...i, deviceNonce })),
  counter: (i) => fc.integer({ min: 0, max: 0xffff_ffff }).filter((v) => v !== i.counter).map((counter) => ({ ...i, counter })),
};

describe('wallet cryptogram (HMAC-SHA256 over canonical purchase bytes)', () => {
  it('covers wallet, device, merchant, amount, currency, article, quantity, nonce, counter in that order', () => {
    const input: PurchaseAuthInput = {
      walletId, deviceId: 'vm-0042', purchase: { merchant: '001-0000042', amount: { minor: 250, currency: 'EUR' }, article: 'cola-330', quantity: 1 },
      deviceNonce: '00112233445566778899aabbccddeeff', counter: 17,
    };
    expect(purchaseBytes(input).equals(canonicalBytes(domains.purchase, [walletId, 'vm-0042', '001-0000042', 250, 'EUR', 'cola-330', 1, '00112233445566778899aabbccddeeff', 17]))).toBe(true);
    const cryptogram = walletCryptogram(walletKey, input);
    expect(cryptogram).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyWalletCryptogram(walletKey, input, cryptogram)).toBe(true);
    expect(verifyWalletCryptogram(deriveWalletKey(issuerMasterKey, otherWalletId), input, cryptogram)).toBe(false);
    expect(verifyWalletCryptogram(walletKey, input, cryptogram.toUpperCase())).toBe(false);
    expect(verifyWalletCryptogram(walletKey, input, 'not a mac')).toBe(false);
  });

  it('verifies for the input it was made over and fails when any single field changes', () => {
    const changed = purchaseInputArb.chain((input) =>
      fc.constantFrom(...Object.keys(singleFieldChanges)).chain((field) => singleFieldChanges[field]!(input).map((other) => ({ input, field, other }))));
    fc.assert(
      fc.property(changed, ({ input, other }) => {
        const key = deriveWalletKey(issuerMasterKey, input.walletId);
        const cryptogram = walletCryptogram(key, input);
        return verifyWalletCryptogram(key, input, cryptogram) && !verifyWalletCryptogram(key, other, cryptogram);
      }),
      { numRuns: 1500 },
    );
  });

  it('every field is changed by the property above', () => {
    expect(Object.keys(singleFieldChanges).sort()).toEqual(['article', 'counter', 'currency', 'deviceId', 'deviceNonce', 'merchant', 'minor', 'quantity', 'walletId']);
  });
});

describe('result tag and outcome-ack tag (HMAC-SHA256 under the device key)', () => {
  const otherDeviceKey = deriveDeviceKey(deviceMasterKey, 'vm-0043');

  it('result bytes are deviceId, requestId, status, reason, amount.minor, amount.currency, deferredUntil', () => {
    const r = settleResult();
    expect(resultBytes(r).equals(canonicalBytes(domains.result, [r.deviceId, r.requestId, 'approved', null, 250, 'EUR', null]))).toBe(true);
  });

  it('a result verifies under its device key only', () => {
    const r = settleResult();
    expect(verifyResultTag(deviceKey, r)).toBe(true);
    expect(verifyResultTag(otherDeviceKey, r)).toBe(false);
    expect(resultTag(deviceKey, r)).toBe(r.tag);
  });

  it('fails when status, amount, currency, reason, requestId, deviceId or deferredUntil change', () => {
    const changes: ((r: SettleResult) => SettleResult)[] = [
      (r) => ({ ...r, status: 'declined' }),
      (r) => ({ ...r, amount: { minor: 251, currency: 'EUR' } }),
      (r) => ({ ...r, amount: { minor: 250, currency: 'USD' } }),
      (r) => { const { amount: _amount, ...rest } = r; return rest; },
      (r) => ({ ...r, reason: 'insufficient-funds' }),
      (r) => ({ ...r, requestId: '01937a4e-8f00-7abc-8def-0123456789ac' }),
      (r) => ({ ...r, deviceId: 'vm-0043' }),
      (r) => ({ ...r, deferredUntil: r.sentAt + 600_000 }),
      (r) => ({ ...r, tag: `${r.tag.slice(0, 63)}${r.tag.endsWith('0') ? '1' : '0'}` }),
    ];
    for (const change of changes) expect(verifyResultTag(deviceKey, change(settleResult()))).toBe(false);
  });

  it('a declined result with a reason and no amount has its own tag', () => {
    const fields = { deviceId: 'vm-0042', requestId: settleResult().requestId, status: 'declined' as const, reason: 'malformed-json' as const };
    const declined: SettleResult = { v: 1, type: 'result', sentAt: 1, ...fields, tag: resultTag(deviceKey, fields) };
    expect(verifyResultTag(deviceKey, declined)).toBe(true);
    expect(verifyResultTag(deviceKey, { ...declined, reason: 'bad-cryptogram' })).toBe(false);
    const { reason: _reason, ...withoutReason } = declined;
    expect(verifyResultTag(deviceKey, withoutReason)).toBe(false);
  });

  it('an outcome ack verifies under its device key and fails when status, ids or key change', () => {
    const ack = outcomeAck();
    expect(verifyOutcomeAckTag(deviceKey, ack)).toBe(true);
    expect(outcomeAckTag(deviceKey, ack)).toBe(hmacOf(deviceKey, canonicalBytes(domains.outcomeAck, [ack.deviceId, ack.requestId, ack.settleRequestId, ack.status])));
    expect(verifyOutcomeAckTag(otherDeviceKey, ack)).toBe(false);
    expect(verifyOutcomeAckTag(deviceKey, { ...ack, status: 'too-late' })).toBe(false);
    expect(verifyOutcomeAckTag(deviceKey, { ...ack, settleRequestId: ack.requestId })).toBe(false);
    expect(verifyOutcomeAckTag(deviceKey, { ...ack, requestId: ack.settleRequestId })).toBe(false);
    expect(verifyOutcomeAckTag(deviceKey, { ...ack, deviceId: 'vm-0043' })).toBe(false);
  });

  it('a result tag is never a valid outcome-ack tag (domain separation)', () => {
    const r = settleResult();
    const ack = outcomeAck();
    expect(verifyOutcomeAckTag(deviceKey, { ...ack, tag: r.tag })).toBe(false);
  });
});


describe('Ed25519', () => {
  const pair = generateSigningKeyPair('issuer-1');
  const message = Buffer.from('tapsettle ed25519 test message');
  const signature = signEd25519(pair, message);

  it('makes raw 32-byte keys and 64-byte signatures in unpadded base64url', () => {
    expect(pair.keyId).toBe('issuer-1');
    expect(pair.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.privateKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(pair.publicKey, 'base64url').byteLength).toBe(32);
    expect(signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(Buffer.from(signature, 'base64url').byteLength).toBe(64);
    expect(generateSigningKeyPair('issuer-2').publicKey).not.toBe(pair.publicKey);
  });

  it('verifies a signature over the bytes it was made for', () => {
    expect(verifyEd25519(pair.publicKey, message, signature)).toBe(true);
    expect(signEd25519(pair, message)).toBe(signature);
  });

  it('fails for tampered bytes', () => {
    fc.assert(
      fc.property(fc.nat({ max: message.byteLength - 1 }), fc.integer({ min: 0, max: 7 }), (index, bit) => {
        const tampered = Buffer.from(message);
        tampered[index]! ^= 1 << bit;
        return !verifyEd25519(pair.publicKey, tampered, signature);
      }),
      { numRuns: 200 },
    );
    expect(verifyEd25519(pair.publicKey, Buffer.concat([message, Buffer.from([0])]), signature)).toBe(false);
    expect(verifyEd25519(pair.publicKey, message.subarray(1), signature)).toBe(false);
  });

  it('fails for a tampered signature, including non-canonical spellings of the same bytes', () => {
    const raw = Buffer.from(signature, 'base64url');
    for (let i = 0; i < 64; i += 8) {
      const tampered = Buffer.from(raw);
      tampered[i]! ^= 0x01;
      expect(verifyEd25519(pair.publicKey, message, tampered.toString('base64url'))).toBe(false);
    }
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const lastCharVariants = [...alphabet].filter((c) => verifyEd25519(pair.publicKey, message, signature.slice(0, 85) + c));
    expect(lastCharVariants).toEqual([signature.at(-1)]);
    expect(verifyEd25519(pair.publicKey, message, `${signature}==`)).toBe(false);
    expect(verifyEd25519(pair.publicKey, message, `${signature.slice(0, 40)}!${signature.slice(40)}`)).toBe(false);
    expect(verifyEd25519(pair.publicKey, message, raw.toString('base64'))).toBe(raw.toString('base64') === signature);
  });

  it('fails under another key', () => {
    expect(verifyEd25519(generateSigningKeyPair('other').publicKey, message, signature)).toBe(false);
    expect(verifyEd25519(pair.privateKey, message, signature)).toBe(false);
  });

  it('returns false, never throws, for garbage keys and signatures', () => {
    for (const key of ['', 'garbage', '!'.repeat(43), 'A'.repeat(42), 'A'.repeat(44), `${pair.publicKey}=`, `${pair.publicKey}A`]) {
      expect(verifyEd25519(key, message, signature), key).toBe(false);
    }
    for (const sig of ['', 'x', '!'.repeat(86), 'A'.repeat(85), 'A'.repeat(86), 'A'.repeat(88), `${signature}A`]) {
      expect(verifyEd25519(pair.publicKey, message, sig), sig).toBe(false);
    }
    fc.assert(
      fc.property(anyString(100), anyString(100), (key, sig) => verifyEd25519(key, message, sig) === false),
      { numRuns: 500 },
    );
  });
});
