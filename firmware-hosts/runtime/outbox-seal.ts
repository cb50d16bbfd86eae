/**
 * Card data at rest on the device (claim 36): a card authorization waits in
 * the outbox until its answer comes, so it survives a reboot and is resent
 * byte for byte — but the PAN and CVV must not sit in a plain file on an SD
 * card (the outbox keeps dead lines until it compacts). Such bodies are
 * sealed with AES-256-GCM under a key derived from the device key, bound to
 * the entry's id; the outbox opens them when it reads the file.
 *
 * `s1.` + base64url(iv 12 bytes ‖ ciphertext ‖ GCM tag 16 bytes).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const prefix = 's1.';
const ivBytes = 12;
const tagBytes = 16;

export interface OutboxSeal {
  seal(id: string, text: string): string;
  /** The text, or null when it was not sealed under this key for this id (another device key, a damaged line). */
  open(id: string, sealed: string): string | null;
}

/** A sealed body is at most this much longer than the body: the base64 of 28 more bytes plus the prefix, and a third for base64. */
export const sealedBytesMax = (plainBytesMax: number): number => prefix.length + Math.ceil(((plainBytesMax + ivBytes + tagBytes) * 4) / 3);

export function outboxSeal(deviceKey: Uint8Array): OutboxSeal {
  const key = createHmac('sha256', deviceKey).update('tapsettle/v1/outbox-seal').digest();
  return {
    seal(id, text) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(id, 'utf8'));
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return `${prefix}${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    open(id, sealed) {
      if (!sealed.startsWith(prefix)) return null;
      const raw = Buffer.from(sealed.slice(prefix.length), 'base64url');
      if (raw.byteLength < ivBytes + tagBytes) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, ivBytes)).setAAD(Buffer.from(id, 'utf8'));
        decipher.setAuthTag(raw.subarray(raw.byteLength - tagBytes));
        return Buffer.concat([decipher.update(raw.subarray(ivBytes, raw.byteLength - tagBytes)), decipher.final()]).toString('utf8');
      } catch {
        return null;
      }
    },
  };
}
