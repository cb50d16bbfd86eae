/**
 * Card data as it travels (claim 36): from the phone's wallet applet (GET
 * CARD, applet.ts) or the wallet API to the card processing apparatus in the
 * gateway, and on to the card authentication apparatus (the issuer host,
 * settlement-core/cards). One definition of each field, and the two things
 * every part needs: the Luhn check and the mask.
 *
 * A PAN is a secret here: it never reaches a log, a metric, an error message
 * or a plain database column. Whatever shows a card shows `maskPan(pan)`.
 */
import { z } from 'zod';

export const cardLimits = {
  /** ISO/IEC 7812: a PAN has 8..19 digits; payment cards in use have 12 or more (Maestro's shortest). */
  panDigitsMin: 12,
  panDigitsMax: 19,
  /** Card verification value: 3 digits (Visa, Mastercard), 4 (Amex CID). */
  cvvDigitsMin: 3,
  cvvDigitsMax: 4,
  /** ISO 9564: a PIN has 4..12 digits. */
  pinDigitsMin: 4,
  pinDigitsMax: 12,
} as const;

/** The Luhn (mod 10) check digit test of ISO/IEC 7812-1, over a string of digits. False for anything else. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits) || digits.length < 2) return false;
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i -= 1, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The check digit that makes `partial` + digit pass Luhn (to make test and demo card numbers). */
export function luhnCheckDigit(partial: string): string {
  for (let d = 0; d <= 9; d += 1) if (luhnValid(`${partial}${d}`)) return String(d);
  throw new RangeError('not a string of digits');
}

/**
 * Digits only, of a PAN's length. The Luhn check is deliberately not part of
 * the schema: a mistyped number is the issuer's to answer (response code 14),
 * not a malformed message. Messages of this schema never echo the value.
 */
export const Pan = z.string().min(cardLimits.panDigitsMin, 'a card number has at least 12 digits').max(cardLimits.panDigitsMax, 'a card number has at most 19 digits').regex(/^\d+$/, 'a card number is digits only');
/** Expiry as ISO 8583 DE14 and EMV carry it: YYMM. */
export const CardExpiry = z.string().length(4, 'expiry is YYMM').regex(/^\d{2}(0[1-9]|1[0-2])$/, 'expiry is YYMM');
export const Cvv = z.string().min(cardLimits.cvvDigitsMin, 'a CVV has 3 or 4 digits').max(cardLimits.cvvDigitsMax, 'a CVV has 3 or 4 digits').regex(/^\d+$/, 'a CVV is digits only');
export const Pin = z.string().min(cardLimits.pinDigitsMin, 'a PIN has 4 to 12 digits').max(cardLimits.pinDigitsMax, 'a PIN has 4 to 12 digits').regex(/^\d+$/, 'a PIN is digits only');
/** ISO 18245 merchant category code. */
export const MerchantCategory = z.string().length(4, 'a merchant category code has 4 digits').regex(/^\d{4}$/, 'a merchant category code has 4 digits');

/** What a phone holds of a card and hands over (GET CARD, the wallet API). */
export const CardData = z.strictObject({ pan: Pan, expiry: CardExpiry, cvv: Cvv });
export type CardData = z.infer<typeof CardData>;

/** The last four digits: the only part of a PAN that is kept or shown. */
export const panLastFour = (pan: string): string => pan.slice(-4);

/** `•••• •••• •••• 4242` whatever the length: nothing but the last four digits, not even how many digits there are. */
export const maskPan = (pan: string): string => `•••• •••• •••• ${panLastFour(pan)}`;

/** The last day of the expiry month has passed (UTC): a card is valid through the end of its expiry month. */
export function expiryPassed(expiry: string, nowMs: number): boolean {
  const year = 2000 + Number(expiry.slice(0, 2));
  const month = Number(expiry.slice(2, 4));
  return nowMs >= Date.UTC(year, month, 1);
}
