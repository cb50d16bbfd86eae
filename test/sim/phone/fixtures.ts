/**
 * Keys, documents and fast-check arbitraries for the wallet applet tests
 * (protocol codec, simulated phone, wallet client). Documents carry real
 * Ed25519 signatures so they are what an issuer or a gate would write.
 */
import fc from 'fast-check';
import {
  admissionBytes, deriveWalletKey, emoneyTokenBytes, formatAccountId, generateSigningKeyPair, signEd25519, ticketBytes,
} from '../../../protocol/index.ts';
import type { Admission, EmoneyToken, Purchase, Ticket } from '../../../protocol/index.ts';
import type { AuthorizeCommand } from '../../../protocol/applet.ts';

export const issuerMasterKey = Buffer.alloc(32, 0x11);
export const walletId = '01937a4e-0000-7000-8000-000000000001';
export const otherWalletId = '01937a4e-0000-7000-8000-000000000002';
export const walletKey = deriveWalletKey(issuerMasterKey, walletId);
export const deviceId = 'gate-07';
export const issuerKeys = generateSigningKeyPair('issuer-2025');
export const gateKeys = generateSigningKeyPair('gate-key-1');
const t0 = 1_732_430_000_000;
/** Deterministic UUIDv7s, so that ticket(1) twice is the same ticket: `kind` keeps tickets, admissions and tokens apart. */
const idOf = (kind: 't' | 'a' | 'e', i: number): string => `01937a4e-${{ t: '0001', a: '0002', e: '0003' }[kind]}-7000-8000-${i.toString(16).padStart(12, '0')}`;

export const purchase: Purchase = { merchant: '001-0000042', amount: { minor: 250, currency: 'EUR' }, article: 'cola-330', quantity: 1 };
export const nonce = (n: number): string => n.toString(16).padStart(32, '0');
export const authorizeRequest = (n = 1): AuthorizeCommand => ({ deviceId, purchase, deviceNonce: nonce(n) });

/** A ticket of `owner`, with an optional long product name so lists outgrow one APDU. */
export function ticket(i: number, owner = walletId, product = `day-pass-zone-${i}`): Ticket {
  const body = { ticketId: idOf('t', i), walletId: owner, product, validFrom: t0, validUntil: t0 + 86_400_000, uses: 1 + (i % 3), keyId: issuerKeys.keyId };
  return { ...body, sig: signEd25519(issuerKeys, ticketBytes(body)) };
}

export function admission(owner = walletId): Admission {
  const body = { admissionId: idOf('a', 0), walletId: owner, station: 'central', gate: deviceId, enteredAt: t0 + 5_000, keyId: gateKeys.keyId };
  return { ...body, sig: signEd25519(gateKeys, admissionBytes(body)) };
}

export function token(i: number, owner = walletId): EmoneyToken {
  const body = { serial: idOf('e', i), amount: { minor: 100 * (i + 1), currency: 'EUR' }, holder: owner, issuedAt: t0, float: '900-0000001', keyId: issuerKeys.keyId };
  return { ...body, sig: signEd25519(issuerKeys, emoneyTokenBytes(body)) };
}

// ---- Arbitraries --------------------------------------------------------------

export const arbUuidV7 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
});
/** Any Unicode, bounded in UTF-16 units as the zod schemas count them. */
export const arbText = (maxUnits: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', minLength: 1, maxLength: maxUnits }).filter((s) => s.length <= maxUnits);
export const arbEpoch = fc.integer({ min: 0, max: 2 ** 47 });
export const arbSig = fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64url'));
export const arbAccount = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 9_999_999 })).map(([b, n]) => formatAccountId(b, n));
export const arbMoney = fc.record({ minor: fc.integer({ min: 1, max: 100_000_000 }), currency: fc.stringMatching(/^[A-Z]{3}$/) });
export const arbDeviceId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/);
export const arbHex = (bytes: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

export const arbTicket: fc.Arbitrary<Ticket> = fc.record({
  ticketId: arbUuidV7, walletId: arbUuidV7, product: arbText(64), validFrom: arbEpoch, validUntil: arbEpoch,
  uses: fc.integer({ min: 1, max: 1000 }), keyId: arbText(64), sig: arbSig,
});
export const arbAdmission: fc.Arbitrary<Admission> = fc.record({
  admissionId: arbUuidV7, walletId: arbUuidV7, station: arbText(32), gate: arbDeviceId, enteredAt: arbEpoch, keyId: arbText(64), sig: arbSig,
});
export const arbToken: fc.Arbitrary<EmoneyToken> = fc.record({
  serial: arbUuidV7, amount: arbMoney, holder: arbUuidV7, issuedAt: arbEpoch, float: arbAccount, keyId: arbText(64), sig: arbSig,
});
export const arbAuthorizeCommand: fc.Arbitrary<AuthorizeCommand> = fc.record({
  deviceId: arbDeviceId,
  purchase: fc.record({ merchant: arbAccount, amount: arbMoney, article: arbText(64), quantity: fc.integer({ min: 1, max: 99 }) }),
  deviceNonce: arbHex(16),
});
