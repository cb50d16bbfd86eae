/**
 * The gate's offline cryptography: it signs the admissions it writes with its
 * own Ed25519 key, and verifies admissions (under keys.gates) and tickets
 * (under keys.issuer) from the retained config. Nothing here needs the core.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { admissionBytes, signEd25519, ticketBytes, verifyEd25519 } from '../../protocol/index.ts';
import type { Admission, DeviceConfig, SigningKeyPair, Ticket } from '../../protocol/index.ts';
import { relativeTo } from '../runtime/device-file.ts';
import { RuntimeError } from '../runtime/errors.ts';
import { AdmissionKeySection } from './settings.ts';
import type { GateSettings } from './settings.ts';

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const ed25519Pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
/** A key file is one small JSON object. */
const keyFileBytesMax = 4096;

/** The full key pair from the seed alone: the device file need not repeat the public half. */
export function keyPairFromSeed(keyId: string, privateKey: string): SigningKeyPair {
  const seed = Buffer.from(privateKey, 'base64url');
  if (seed.byteLength !== 32 || seed.toString('base64url') !== privateKey) throw new RangeError('not a raw 32-byte Ed25519 seed in base64url');
  const key = createPrivateKey({ key: Buffer.concat([ed25519Pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new RangeError('ed25519 export produced no public key');
  return { keyId, publicKey: jwk.x, privateKey };
}

/** The admission signing key from the device file, or null for a gate that writes none; a bad key is a coded error naming the key. */
export function loadAdmissionKey(settings: GateSettings, deviceFilePath: string): SigningKeyPair | null {
  let section: z.infer<typeof AdmissionKeySection> | undefined = settings.admissionKey;
  let key = 'gate.admissionKey';
  if (settings.admissionKeyFile !== undefined) {
    key = 'gate.admissionKeyFile';
    const path = relativeTo(deviceFilePath, settings.admissionKeyFile);
    let parsed: unknown;
    try {
      const text = readFileSync(path, 'utf8');
      if (text.length > keyFileBytesMax) throw new Error(`longer than ${keyFileBytesMax} bytes`);
      parsed = JSON.parse(text);
    } catch (err) {
      throw new RuntimeError('TS_ERR_DEVICE_FILE', `${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    // A key file may hold the whole SigningKeyPair; only keyId and privateKey are used.
    const read = z.object({ keyId: AdmissionKeySection.shape.keyId, privateKey: AdmissionKeySection.shape.privateKey }).safeParse(parsed);
    if (!read.success) throw new RuntimeError('TS_ERR_DEVICE_FILE', `${key}: ${path} does not hold { keyId, privateKey }`);
    section = read.data;
  }
  if (section === undefined) return null;
  try {
    return keyPairFromSeed(section.keyId, section.privateKey);
  } catch (err) {
    throw new RuntimeError('TS_ERR_DEVICE_FILE', `${key}.privateKey: ${(err as Error).message}`);
  }
}

export function signAdmission(pair: SigningKeyPair, unsigned: Omit<Admission, 'sig' | 'keyId'>): Admission {
  const body = { ...unsigned, keyId: pair.keyId };
  return { ...body, sig: signEd25519(pair, admissionBytes(body)) };
}

type PublicKeys = NonNullable<DeviceConfig['keys']>['gates'];

function verifyUnder(keys: PublicKeys | undefined, keyId: string, bytes: Buffer, sig: string): boolean {
  const key = keys?.find((k) => k.keyId === keyId);
  return key !== undefined && verifyEd25519(key.publicKey, bytes, sig);
}

/** True only when a gate key of the retained config signed exactly this admission. */
export const admissionVerifies = (config: DeviceConfig | null, a: Admission): boolean =>
  verifyUnder(config?.keys?.gates, a.keyId, admissionBytes(a), a.sig);

/** True only when an issuer key of the retained config signed exactly this ticket. */
export const ticketVerifies = (config: DeviceConfig | null, t: Ticket): boolean =>
  verifyUnder(config?.keys?.issuer, t.keyId, ticketBytes(t), t.sig);
