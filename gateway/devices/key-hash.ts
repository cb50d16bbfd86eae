/**
 * The salted scrypt hash the registry keeps instead of a device's key, so a
 * copy of gateway.db gives no key away. Each hash names its parameters
 * (`scrypt$N$r$p$salt$hash`), so the cost can be raised later and old hashes
 * still verify.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

/**
 * scrypt cost. A device secret is a 256-bit HKDF output, so no work factor is
 * needed against guessing it: the hash is there so the file holds no key. N = 2^12
 * (4 MiB, ~23 ms on the reference 2-core machine) keeps the first login of
 * 1,000 devices after a restart near 12 s of thread-pool time; later logins hit
 * the registry's cache.
 */
export const scryptParams = {
  costN: 2 ** 12,
  blockSizeR: 8,
  parallelizationP: 1,
  saltBytes: 16,
  hashBytes: 32,
} as const;

/** A stored hash asking for more than this is refused rather than computed (a tampered file must not exhaust memory). */
const storedCostNMax = 2 ** 20;
const scryptMemoryBytesMax = 256 * 1024 * 1024;

function scryptAsync(secret: Uint8Array, salt: Uint8Array, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const options = (n: number, r: number, p: number): ScryptOptions => ({ N: n, r, p, maxmem: scryptMemoryBytesMax });

/** Hashes a secret with a fresh random salt; runs on the thread pool. */
export async function hashSecret(secret: Uint8Array): Promise<string> {
  const { costN, blockSizeR, parallelizationP, saltBytes, hashBytes } = scryptParams;
  const salt = randomBytes(saltBytes);
  const hash = await scryptAsync(secret, salt, hashBytes, options(costN, blockSizeR, parallelizationP));
  return ['scrypt', costN, blockSizeR, parallelizationP, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Whether `secret` hashes to `stored`; constant-time comparison. A malformed stored hash never matches. */
export async function secretMatchesHash(secret: Uint8Array, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (!Number.isSafeInteger(n) || n < 2 || n > storedCostNMax || (n & (n - 1)) !== 0) return false;
  if (!Number.isSafeInteger(r) || r < 1 || r > 32 || !Number.isSafeInteger(p) || p < 1 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (salt.length === 0 || expected.length < 16 || expected.length > 64) return false;
  try {
    const actual = await scryptAsync(secret, salt, expected.length, options(n, r, p));
    return timingSafeEqual(actual, expected);
  } catch {
    // Parameters scrypt refuses (say, over its memory cap): a hash that cannot be checked does not match.
    return false;
  }
}
