/**
 * Data checked offline by other devices, signed with Ed25519 (DESIGN §5):
 * tickets and e-money tokens under the issuer key, admission info under a
 * gate key. The signature covers the canonical bytes below, not the JSON.
 */
import { z } from 'zod';
import { canonicalBytes, domains } from './canonical.ts';
import { AccountId, DeviceId, UuidV7, WalletId } from './ids.ts';
import { limits } from './limits.ts';
import { Money } from './money.ts';

const EpochMs = z.number().int().min(0).max(limits.epochMsMax);
const Station = z.string().min(1).max(limits.stationIdLengthMax);
const KeyId = z.string().min(1).max(64);
/** Ed25519 signature, 64 bytes, base64url without padding. */
const Signature = z.string().length(86).regex(/^[A-Za-z0-9_-]+$/);

export const Ticket = z.strictObject({
  ticketId: UuidV7,
  walletId: WalletId,
  product: z.string().min(1).max(limits.articleIdLengthMax),
  validFrom: EpochMs,
  validUntil: EpochMs,
  /** Admissions allowed; 1 for a single-use ticket. */
  uses: z.number().int().min(1).max(limits.ticketUsesMax),
  keyId: KeyId,
  sig: Signature,
});
export type Ticket = z.infer<typeof Ticket>;

export const ticketBytes = (t: Omit<Ticket, 'sig'>): Buffer =>
  canonicalBytes(domains.ticket, [t.ticketId, t.walletId, t.product, t.validFrom, t.validUntil, t.uses, t.keyId]);

export const Admission = z.strictObject({
  admissionId: UuidV7,
  walletId: WalletId,
  station: Station,
  gate: DeviceId,
  enteredAt: EpochMs,
  keyId: KeyId,
  sig: Signature,
});
export type Admission = z.infer<typeof Admission>;

export const admissionBytes = (a: Omit<Admission, 'sig'>): Buffer =>
  canonicalBytes(domains.admission, [a.admissionId, a.walletId, a.station, a.gate, a.enteredAt, a.keyId]);

export const EmoneyToken = z.strictObject({
  serial: UuidV7,
  amount: Money,
  /** The wallet the token was issued to. */
  holder: WalletId,
  issuedAt: EpochMs,
  /** The issuer float account that backs the token. */
  float: AccountId,
  keyId: KeyId,
  sig: Signature,
});
export type EmoneyToken = z.infer<typeof EmoneyToken>;

export const emoneyTokenBytes = (t: Omit<EmoneyToken, 'sig'>): Buffer =>
  canonicalBytes(domains.emoney, [t.serial, t.amount.minor, t.amount.currency, t.holder, t.issuedAt, t.float, t.keyId]);
