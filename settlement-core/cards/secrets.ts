/**
 * The issuer's keyed hashes. A PAN has at most ~10^9 unknowns once its BIN
 * and last four are known, a CVV 10^3, a PIN 10^4: a plain hash of any of
 * them is reversed in seconds. Every one is therefore an HMAC-SHA256 under
 * the issuer pepper — a secret kept outside the database — so a stolen
 * database file alone reveals nothing. CVV and PIN are also bound to the
 * card token, so equal CVVs of two cards do not hash alike.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CardError } from './errors.ts';

/** 256 bits: an HMAC key as strong as its hash. */
export const pepperBytesMin = 32;

const domains = {
  pan: 'tapsettle/v1/card-pan',
  cvv: 'tapsettle/v1/card-cvv',
  pin: 'tapsettle/v1/card-pin',
  request: 'tapsettle/v1/card-authorization-request',
  check: 'tapsettle/v1/card-pepper-check',
} as const;

export function checkPepper(pepper: Uint8Array): void {
  if (!(pepper instanceof Uint8Array) || pepper.byteLength < pepperBytesMin) throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', `pepper: expected at least ${pepperBytesMin} random bytes`);
}

function keyed(pepper: Uint8Array, domain: string, ...parts: string[]): Buffer {
  const mac = createHmac('sha256', pepper).update(domain);
  for (const part of parts) mac.update('\0').update(part);
  return mac.digest();
}

export const panHash = (pepper: Uint8Array, pan: string): Buffer => keyed(pepper, domains.pan, pan);
export const cvvHash = (pepper: Uint8Array, token: string, cvv: string): Buffer => keyed(pepper, domains.cvv, token, cvv);
export const pinHash = (pepper: Uint8Array, token: string, pin: string): Buffer => keyed(pepper, domains.pin, token, pin);
/** What an authorization request is, for idempotency: equal content, equal fingerprint; reveals nothing of the card. */
export const requestFingerprint = (pepper: Uint8Array, canonical: string): Buffer => keyed(pepper, domains.request, canonical);
/** Stored once in the database: opening it with another pepper fails loudly instead of answering 14 to every card. */
export const pepperCheck = (pepper: Uint8Array): Buffer => keyed(pepper, domains.check);

export const sameHash = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && timingSafeEqual(a, b);

/** RFC 4648 base32 lower case: tokens read well in logs and never look like a card number. */
const base32 = 'abcdefghijklmnopqrstuvwxyz234567';
const tokenChars = 24;
/** `ct_` and 120 random bits: a card's name everywhere outside the issuer, unrelated to its number. */
export function newCardToken(): string {
  const bytes = randomBytes(tokenChars);
  let s = 'ct_';
  for (let i = 0; i < tokenChars; i += 1) s += base32[bytes[i]! & 31];
  return s;
}
export const cardTokenPattern = /^ct_[a-z2-7]{24}$/;

const approvalAlphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** ISO 8583 DE38: six characters the merchant may quote. */
export function newApprovalCode(): string {
  const bytes = randomBytes(6);
  let s = '';
  for (const b of bytes) s += approvalAlphabet[b % approvalAlphabet.length];
  return s;
}
