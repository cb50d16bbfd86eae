import { z } from 'zod';

/**
 * Stable reason codes of a `declined` SettleResult. Devices show and log them;
 * operators search for them. Never renumber, never reuse: add new ones at the
 * end. docs/ledger.md lists each with what to do about it.
 */
export const reasonCodes = [
  'malformed-json',
  'invalid-request',
  'unknown-field',
  'invalid-amount',
  'malformed-id',
  'unsupported-version',
  'payload-too-large',
  'device-mismatch',
  'unknown-device',
  'device-not-active',
  'merchant-mismatch',
  'unknown-account',
  'account-not-active',
  'currency-mismatch',
  'unknown-wallet',
  'wallet-not-active',
  'bad-cryptogram',
  'counter-reused',
  'not-eligible',
  'over-limit',
  'insufficient-funds',
  'duplicate-mismatch',
  'ticket-unavailable',
  'emoney-unavailable',
] as const;
export const ReasonCode = z.enum(reasonCodes);
export type ReasonCode = z.infer<typeof ReasonCode>;

export const reasonText: Readonly<Record<ReasonCode, string>> = {
  'malformed-json': 'the body is not one JSON object',
  'invalid-request': 'the body does not match the message schema',
  'unknown-field': 'the body has a field the schema does not define',
  'invalid-amount': 'the amount is not a positive integer of minor units within the limit',
  'malformed-id': 'an id (request, wallet, device, account) is not of its form',
  'unsupported-version': 'the protocol version `v` is not spoken here',
  'payload-too-large': 'the body is larger than the message limit',
  'device-mismatch': 'the deviceId in the body is not the device that sent it',
  'unknown-device': 'the device is not registered with the core',
  'device-not-active': 'the device is registered but revoked or suspended',
  'merchant-mismatch': 'the device may not sell for the merchant named',
  'unknown-account': 'an account named does not exist',
  'account-not-active': 'the payer or payee account is closed or frozen',
  'currency-mismatch': 'the amount is not in the accounts\' currency',
  'unknown-wallet': 'the wallet id is not enrolled',
  'wallet-not-active': 'the wallet is blocked',
  'bad-cryptogram': 'the wallet cryptogram does not verify',
  'counter-reused': 'the wallet counter was already used (a replay)',
  'not-eligible': 'the payer does not satisfy the article\'s eligibility rule',
  'over-limit': 'the amount is over the per-transaction limit',
  'insufficient-funds': 'the payer\'s balance would fall below its floor',
  'duplicate-mismatch': 'this requestId was already used with different content',
  'ticket-unavailable': 'the request asks for a ticket but this core has no ticket issuer key',
  'emoney-unavailable': 'the request asks for e-money but this core has no issuer key, or the currency no active issuer float account',
};
