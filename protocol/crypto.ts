/**
 * Keys and MACs of DESIGN §5.
 *
 * - Wallet cryptogram: HMAC-SHA256 under a per-wallet key over the canonical
 *   purchase bytes. The wallet key is HKDF-SHA256(issuer master key, wallet id),
 *   so the core stores no per-wallet secret.
 * - Result tag: HMAC-SHA256 under the device key over the canonical result.
 * - Ed25519 for what other devices check offline (see documents.ts).
 *
 * Every comparison of a MAC is constant-time.
 */
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, timingSafeEqual, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { canonicalBytes, domains } from './canonical.ts';
import { limits } from './limits.ts';
import type { OutcomeAck, Purchase, SettleResult } from './messages.ts';

export const masterKeyBytes = 32;

function checkKey(key: Uint8Array, what: string): void {
  if (key.byteLength < masterKeyBytes) throw new RangeError(`${what} must be at least ${masterKeyBytes} bytes, got ${key.byteLength}`);
}

/** HKDF-Extract results per master key: the extract step depends only on the master key. */
const prkCache = new WeakMap<Uint8Array, Buffer>();

/**
 * HKDF-SHA256 (RFC 5869) with salt `tapsettle/v1` and info `{purpose}-key:{id}`,
 * 32 bytes out — the same bytes as `hkdfSync('sha256', master, salt, info, 32)`.
 * Written as its two HMACs because the extract step can then be done once per
 * master key, and one HMAC costs a fraction of node's hkdfSync job: the core
 * derives a wallet key on every tap of a wallet it has not seen lately.
 */
export function deriveKey(masterKey: Uint8Array, purpose: 'wallet' | 'device', id: string): Buffer {
  let prk = prkCache.get(masterKey);
  if (prk === undefined) {
    checkKey(masterKey, 'master key');
    prk = createHmac('sha256', 'tapsettle/v1').update(masterKey).digest();
    prkCache.set(masterKey, prk);
  }
  // T(1) = HMAC(PRK, info || 0x01); 32 bytes = one block.
  return createHmac('sha256', prk).update(`${purpose}-key:${id}`).update(hkdfBlockOne).digest();
}

const hkdfBlockOne = Buffer.from([1]);

/** The per-wallet key, from the issuer master key and the wallet id. */
export const deriveWalletKey = (issuerMasterKey: Uint8Array, walletId: string): Buffer => deriveKey(issuerMasterKey, 'wallet', walletId);
/** The per-device result-tag key, from the gateway's device master key and the device id. */
export const deriveDeviceKey = (deviceMasterKey: Uint8Array, deviceId: string): Buffer => deriveKey(deviceMasterKey, 'device', deviceId);

export function hmacHex(key: Uint8Array, bytes: Uint8Array): string {
  return createHmac('sha256', key).update(bytes).digest('hex');
}

const macHexPattern = new RegExp(`^[0-9a-f]{${limits.macBytes * 2}}$`);

/**
 * Constant-time comparison of two lower-case hex MACs of the right length.
 * Anything else is simply not equal: Buffer.from(…, 'hex') stops at the first
 * non-hex character, and timingSafeEqual throws on buffers of unequal length.
 */
export function macEquals(expectedHex: string, givenHex: string): boolean {
  if (!macHexPattern.test(givenHex) || !macHexPattern.test(expectedHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(givenHex, 'hex'));
}

/** What the phone authenticates (DESIGN §5): wallet, device, merchant, amount, currency, article, quantity, nonce, counter. */
export interface PurchaseAuthInput {
  walletId: string;
  deviceId: string;
  purchase: Purchase;
  deviceNonce: string;
  counter: number;
}

export const purchaseBytes = (p: PurchaseAuthInput): Buffer =>
  canonicalBytes(domains.purchase, [
    p.walletId, p.deviceId, p.purchase.merchant, p.purchase.amount.minor, p.purchase.amount.currency,
    p.purchase.article, p.purchase.quantity, p.deviceNonce, p.counter,
  ]);

export const walletCryptogram = (walletKey: Uint8Array, input: PurchaseAuthInput): string => hmacHex(walletKey, purchaseBytes(input));

export const verifyWalletCryptogram = (walletKey: Uint8Array, input: PurchaseAuthInput, cryptogram: string): boolean =>
  macEquals(walletCryptogram(walletKey, input), cryptogram);

export type ResultTagFields = Pick<SettleResult, 'deviceId' | 'requestId' | 'status' | 'reason' | 'amount' | 'deferredUntil'>;

export const resultBytes = (r: ResultTagFields): Buffer =>
  canonicalBytes(domains.result, [r.deviceId, r.requestId, r.status, r.reason, r.amount?.minor, r.amount?.currency, r.deferredUntil]);

export const resultTag = (deviceKey: Uint8Array, r: ResultTagFields): string => hmacHex(deviceKey, resultBytes(r));

export const verifyResultTag = (deviceKey: Uint8Array, r: SettleResult): boolean => macEquals(resultTag(deviceKey, r), r.tag);

/**
 * A phone's proof on a wallet API request (statement, cancel, e-money): an
 * HMAC under the wallet key over the request, with a counter the core has
 * not seen for this wallet's requests. `bodySha256` is the hex SHA-256 of the
 * exact body bytes sent (empty body: of zero bytes).
 */
export interface WalletRequestInput {
  walletId: string;
  counter: number;
  method: string;
  path: string;
  bodySha256: string;
}

export const walletRequestBytes = (r: WalletRequestInput): Buffer =>
  canonicalBytes(domains.walletRequest, [r.walletId, r.counter, r.method.toUpperCase(), r.path, r.bodySha256]);

export const walletRequestMac = (walletKey: Uint8Array, r: WalletRequestInput): string => hmacHex(walletKey, walletRequestBytes(r));

export const verifyWalletRequestMac = (walletKey: Uint8Array, r: WalletRequestInput, mac: string): boolean => macEquals(walletRequestMac(walletKey, r), mac);

export type OutcomeAckTagFields = Pick<OutcomeAck, 'deviceId' | 'requestId' | 'settleRequestId' | 'status'>;

export const outcomeAckTag = (deviceKey: Uint8Array, a: OutcomeAckTagFields): string =>
  hmacHex(deviceKey, canonicalBytes(domains.outcomeAck, [a.deviceId, a.requestId, a.settleRequestId, a.status]));

export const verifyOutcomeAckTag = (deviceKey: Uint8Array, a: OutcomeAck): boolean => macEquals(outcomeAckTag(deviceKey, a), a.tag);

// ---- Ed25519 -------------------------------------------------------------

export interface SigningKeyPair {
  keyId: string;
  /** Raw 32-byte public key, base64url. */
  publicKey: string;
  /** Raw 32-byte private seed, base64url. Keep it secret. */
  privateKey: string;
}

export function generateSigningKeyPair(keyId: string): SigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  if (typeof pub.x !== 'string' || typeof priv.d !== 'string') throw new Error('ed25519 export produced no raw key');
  return { keyId, publicKey: pub.x, privateKey: priv.d };
}

const publicKeyCache = new Map<string, KeyObject>();
/** Cache bound: config carries at most a few dozen keys; 1,024 leaves room for rotation. */
const publicKeyCacheMax = 1024;

/** Raw Ed25519 public key and signature sizes, in bytes. */
const ed25519PublicKeyBytes = 32;
const ed25519SignatureBytes = 64;

/**
 * Decodes base64url only in its one canonical form (no padding, no other
 * alphabet, no stray characters, zero trailing bits): Buffer.from is lenient,
 * and a lenient decoder lets many strings stand for one signature or key.
 */
function decodeCanonicalBase64url(text: string, bytes: number): Buffer | null {
  const decoded = Buffer.from(text, 'base64url');
  if (decoded.byteLength !== bytes || decoded.toString('base64url') !== text) return null;
  return decoded;
}

function publicKeyObject(publicKey: string): KeyObject {
  let key = publicKeyCache.get(publicKey);
  if (!key) {
    if (decodeCanonicalBase64url(publicKey, ed25519PublicKeyBytes) === null) throw new RangeError('not a raw Ed25519 public key in base64url');
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
    if (publicKeyCache.size >= publicKeyCacheMax) publicKeyCache.clear();
    publicKeyCache.set(publicKey, key);
  }
  return key;
}

export function signEd25519(pair: SigningKeyPair, bytes: Uint8Array): string {
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pair.publicKey, d: pair.privateKey }, format: 'jwk' });
  return sign(null, bytes, key).toString('base64url');
}

/** Never throws: a malformed key or signature is simply not valid. */
export function verifyEd25519(publicKey: string, bytes: Uint8Array, signature: string): boolean {
  try {
    const sig = decodeCanonicalBase64url(signature, ed25519SignatureBytes);
    if (sig === null) return false;
    return verify(null, bytes, publicKeyObject(publicKey), sig);
  } catch {
    return false;
  }
}
