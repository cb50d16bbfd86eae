import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { limits } from './limits.ts';

/** RFC 9562 UUID version 7: 48-bit Unix ms timestamp, version nibble 7, variant 10. Lower-case on the wire. */
export const uuidV7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function uuidv7(nowMs: number = Date.now()): string {
  const bytes = randomBytes(16);
  const ms = BigInt(Math.trunc(nowMs));
  for (let i = 0; i < 6; i += 1) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The Unix ms timestamp embedded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

export const UuidV7 = z.string().length(36).regex(uuidV7Pattern, 'expected a lower-case UUIDv7');

/** Device ids are MQTT topic levels: no `/`, `+`, `#`, no upper case, bounded. */
export const deviceIdPattern = /^[a-z0-9][a-z0-9._-]*$/;
export const DeviceId = z.string().min(1).max(limits.deviceIdLengthMax).regex(deviceIdPattern, 'expected a device id: lower-case letters, digits, ".", "_" or "-"');

/** Wallet ids are UUIDv7 chosen by the core at enrollment; a phone is never identified by its NFC UID. */
export const WalletId = UuidV7;

/** Account ids: branch number (3 digits) + account number (7 digits), `BBB-NNNNNNN` (claims 19–21). */
export const accountIdPattern = /^(\d{3})-(\d{7})$/;
export const AccountId = z.string().length(11).regex(accountIdPattern, 'expected an account id BBB-NNNNNNN');

export function parseAccountId(id: string): { branch: number; number: number } | null {
  const m = accountIdPattern.exec(id);
  if (!m) return null;
  return { branch: Number(m[1]), number: Number(m[2]) };
}

export function formatAccountId(branch: number, number: number): string {
  if (!Number.isInteger(branch) || branch < 0 || branch > 999) throw new RangeError(`branch ${branch} is not 0..999`);
  if (!Number.isInteger(number) || number < 0 || number > 9_999_999) throw new RangeError(`account number ${number} is not 0..9999999`);
  return `${String(branch).padStart(3, '0')}-${String(number).padStart(7, '0')}`;
}

const hexOf = (bytes: number) => z.string().length(bytes * 2).regex(/^[0-9a-f]+$/, `expected ${bytes} bytes as lower-case hex`);
export const Nonce = hexOf(limits.nonceBytes);
export const Mac = hexOf(limits.macBytes);
