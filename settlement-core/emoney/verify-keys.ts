/**
 * The issuer public keys e-money tokens are verified with: the current
 * issuer key's, and those of keys rotated out (`tapsettle keys
 * rotate-issuer`, docs/operations.md). A token minted before a rotation
 * keeps its value: it is still deposited, checked against the key id it
 * names. Retired keys verify only; nothing new is signed with them.
 */
import { emoneyTokenBytes, limits, verifyEd25519 } from '../../protocol/index.ts';
import type { EmoneyToken } from '../../protocol/index.ts';
import { CoreError } from '../errors.ts';
import type { EmoneyIssuer } from './decide-common.ts';

export interface IssuerPublicKey {
  keyId: string;
  /** Ed25519, the raw 32 bytes in base64url. */
  publicKey: string;
}

/** Retired keys kept: a device config carries the current key and these within its publicKeysMax. */
export const retiredIssuerKeysMax = limits.publicKeysMax - 1;

const keyIdPattern = /^.{1,64}$/su;
const publicKeyPattern = /^[A-Za-z0-9_-]{43}$/;

/** Key id → public key; empty without a current issuer (no e-money at all). Refuses a malformed list with TS_ERR_INVALID_ARGUMENT. */
export function verificationKeys(current: EmoneyIssuer | null, retired: readonly IssuerPublicKey[] = []): ReadonlyMap<string, string> {
  if (retired.length > retiredIssuerKeysMax) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `retiredIssuerKeys: at most ${retiredIssuerKeysMax}, got ${retired.length}`);
  const keys = new Map<string, string>();
  if (current === null) return keys;
  keys.set(current.keyId, current.pair.publicKey);
  for (const [i, k] of retired.entries()) {
    if (!keyIdPattern.test(k.keyId) || !publicKeyPattern.test(k.publicKey)) {
      throw new CoreError('TS_ERR_INVALID_ARGUMENT', `retiredIssuerKeys.${i}: a key id of 1–64 characters and an Ed25519 public key in base64url`);
    }
    // A key id names one key: a second key under an id already used would let either stand for the other.
    if (keys.has(k.keyId)) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `retiredIssuerKeys.${i}: key id ${JSON.stringify(k.keyId)} is used twice`);
    keys.set(k.keyId, k.publicKey);
  }
  return keys;
}

/** For each token, whether it is signed by the issuer key it names (outside any transaction: Ed25519 is ~115 µs a token). */
export const verifyTokens = (tokens: readonly EmoneyToken[], keys: ReadonlyMap<string, string>): boolean[] =>
  tokens.map((t) => {
    const publicKey = keys.get(t.keyId);
    return publicKey !== undefined && verifyEd25519(publicKey, emoneyTokenBytes(t), t.sig);
  });
