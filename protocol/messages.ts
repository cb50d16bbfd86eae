/**
 * The messages of DESIGN §4, as strict zod schemas: unknown fields are refused,
 * every string and array is bounded, every number has a range. TypeScript
 * types are inferred from these; docs/protocol/*.schema.json is generated
 * from them (`npm run protocol:schema`).
 */
import { z } from 'zod';
import { EmoneyToken, Ticket } from './documents.ts';
import { AccountId, DeviceId, Mac, Nonce, UuidV7, WalletId } from './ids.ts';
import { limits } from './limits.ts';
import { Currency, Money } from './money.ts';
import { ReasonCode } from './reasons.ts';

const Version = z.literal(limits.protocolVersion);
const EpochMs = z.number().int().min(0).max(limits.epochMsMax);
/** Per-device sequence number, for gap and duplicate detection by the core. */
const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Detail = z.string().max(limits.detailLengthMax);
const Membership = z.string().min(1).max(limits.membershipLengthMax).regex(/^[a-z0-9][a-z0-9._-]*$/);

/** Verified age lower bounds, in years; a customer's age band maps onto one. */
export const ageBands = ['under-16', '16-17', '18-20', '21-plus'] as const;
export const AgeBand = z.enum(ageBands);
export type AgeBand = z.infer<typeof AgeBand>;
export const ageBandMinYears: Readonly<Record<AgeBand, number>> = { 'under-16': 0, '16-17': 16, '18-20': 18, '21-plus': 21 };

/** Claim 14: an article sold only to customers whose attributes satisfy this rule. */
export const EligibilityRule = z.strictObject({
  /** The payer's verified age band must start at or above this many years. */
  minAgeYears: z.union([z.literal(16), z.literal(18), z.literal(21)]).optional(),
  /** The payer must hold at least one of these memberships. */
  membershipsAny: z.array(Membership).min(1).max(limits.membershipsMax).optional(),
});
export type EligibilityRule = z.infer<typeof EligibilityRule>;

/** Claims 13 and 14: flags an article carries from the device's catalog into the request. */
export const Restrictions = z.strictObject({
  /** Claim 13: no spot settlement; the deposit to the merchant waits this long and the customer may cancel meanwhile. */
  coolingOffSec: z.number().int().min(1).max(limits.coolingOffSecMax).optional(),
  eligibility: EligibilityRule.optional(),
});
export type Restrictions = z.infer<typeof Restrictions>;

export const Purchase = z.strictObject({
  merchant: AccountId,
  amount: Money,
  article: z.string().min(1).max(limits.articleIdLengthMax),
  quantity: z.number().int().min(1).max(limits.quantityMax),
});
export type Purchase = z.infer<typeof Purchase>;

/** The authenticated part the phone's wallet applet produced (AUTHORIZE PURCHASE). */
export const WalletAuth = z.strictObject({
  walletId: WalletId,
  counter: z.number().int().min(0).max(limits.walletCounterMax),
  deviceNonce: Nonce,
  cryptogram: Mac,
});
export type WalletAuth = z.infer<typeof WalletAuth>;

/** Claims 15–16: the article is a ticket; on approval the core mints an issuer-signed Ticket with these terms into the result. */
export const TicketSpec = z.strictObject({
  /** How long the ticket is valid from the moment it is settled. */
  validitySec: z.number().int().min(60).max(limits.ticketValiditySecMax),
  /** Admissions allowed; 1 for a single-use ticket. */
  uses: z.number().int().min(1).max(limits.ticketUsesMax),
});
export type TicketSpec = z.infer<typeof TicketSpec>;

/**
 * Claim 34 at a device: the article is e-money. The settle amount is the value
 * bought, paid to the currency's issuer float (not to the device's merchant);
 * on approval the core mints one issuer-signed EmoneyToken for the whole
 * amount, held by the paying wallet, into the result. `kind` leaves room for
 * other e-money operations at a device; `issue` is the only one.
 */
export const EmoneySpec = z.strictObject({
  kind: z.literal('issue'),
});
export type EmoneySpec = z.infer<typeof EmoneySpec>;

export const SettleRequest = z.strictObject({
  v: Version,
  type: z.literal('settle'),
  requestId: UuidV7,
  sentAt: EpochMs,
  seq: Seq.optional(),
  deviceId: DeviceId,
  purchase: Purchase,
  wallet: WalletAuth,
  restrictions: Restrictions.optional(),
  /** The device promises an outcome (dispensed, vend-failed, ...) within this many seconds; until then the money waits in clearing. */
  outcomeDeadlineSec: z.number().int().min(1).max(limits.outcomeDeadlineSecMax).optional(),
  /** Claims 15–16: mint a ticket on approval (kiosk). */
  ticket: TicketSpec.optional(),
  /** Claim 34: buy e-money of the settle amount (kiosk); the approval carries the minted token. Not with `ticket`, `restrictions.coolingOffSec` or `offline`. */
  emoney: EmoneySpec.optional(),
  /** The device accepted this tap while the gateway was unreachable (its offline policy) and settles it later from its outbox. */
  offline: z.literal(true).optional(),
});
export type SettleRequest = z.infer<typeof SettleRequest>;

export const settleStatuses = ['approved', 'declined'] as const;

export const SettleResult = z.strictObject({
  v: Version,
  type: z.literal('result'),
  /** The requestId of the SettleRequest this answers. */
  requestId: UuidV7,
  sentAt: EpochMs,
  deviceId: DeviceId,
  status: z.enum(settleStatuses),
  reason: ReasonCode.optional(),
  /** The amount settled (or asked for); absent only when the request could not be read that far. */
  amount: Money.optional(),
  /** Claim 13: the deposit to the merchant is deferred until this time; the customer may cancel before. */
  deferredUntil: EpochMs.optional(),
  /** Claims 15–16: the issuer-signed ticket minted for an approved request that asked for one. Checked by its Ed25519 signature, not by the tag. */
  ticket: Ticket.optional(),
  /** Claim 34: the issuer-signed e-money token minted for an approved request that asked for e-money. Checked by its Ed25519 signature, not by the tag. */
  emoney: EmoneyToken.optional(),
  /** HMAC-SHA256 under the device key over canonical(resultTagFields); the device acts only if it verifies. */
  tag: Mac,
});
export type SettleResult = z.infer<typeof SettleResult>;

/** Stable outcome names: never renamed, never reused; new ones are added at the end. */
export const outcomeKinds = ['dispensed', 'vend-failed', 'passed', 'ticket-delivered', 'ticket-retrievable', 'not-passed', 'emoney-delivered', 'emoney-retrievable'] as const;
export type OutcomeKind = (typeof outcomeKinds)[number];
/**
 * Outcomes that confirm the sale; every other outcome returns the money to the
 * payer — except on an e-money purchase, which is final at approval (the token
 * holds the value; docs/protocol.md §4.2): there every outcome is only recorded.
 */
export const successfulOutcomes: ReadonlySet<OutcomeKind> = new Set(['dispensed', 'passed', 'ticket-delivered', 'ticket-retrievable', 'emoney-delivered', 'emoney-retrievable']);

export const Outcome = z.strictObject({
  v: Version,
  type: z.literal('outcome'),
  /** The outcome's own id: a resend carries the same one. */
  requestId: UuidV7,
  sentAt: EpochMs,
  seq: Seq.optional(),
  deviceId: DeviceId,
  settleRequestId: UuidV7,
  outcome: z.enum(outcomeKinds),
  detail: Detail.optional(),
});
export type Outcome = z.infer<typeof Outcome>;

export const outcomeAckStatuses = ['applied', 'already-applied', 'too-late', 'unknown-request', 'rejected'] as const;
/** The core's answer to an Outcome, on the device's result topic, so the device can clear it from its outbox. */
export const OutcomeAck = z.strictObject({
  v: Version,
  type: z.literal('outcome-ack'),
  requestId: UuidV7,
  sentAt: EpochMs,
  deviceId: DeviceId,
  settleRequestId: UuidV7,
  status: z.enum(outcomeAckStatuses),
  tag: Mac,
});
export type OutcomeAck = z.infer<typeof OutcomeAck>;

export const DeviceKind = z.enum(['vending', 'kiosk', 'gate', 'pos']);
export type DeviceKind = z.infer<typeof DeviceKind>;

export const DeviceHealth = z.strictObject({
  uptimeSec: z.number().int().min(0).max(10 * 365 * 24 * 3600),
  outboxDepth: z.number().int().min(0).max(1_000_000),
  outboxMax: z.number().int().min(0).max(1_000_000),
  configVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  firmware: z.string().max(64).optional(),
  faults: z.array(z.string().min(1).max(64)).max(32),
});

export const DeviceOutput = z.strictObject({
  name: z.string().min(1).max(32),
  kind: z.enum(['relay', 'sensor', 'slot', 'display']),
  state: z.string().min(1).max(limits.detailLengthMax),
});
export type DeviceOutput = z.infer<typeof DeviceOutput>;

export const DeviceState = z.strictObject({
  v: Version,
  type: z.literal('state'),
  requestId: UuidV7,
  sentAt: EpochMs,
  seq: Seq.optional(),
  deviceId: DeviceId,
  kind: DeviceKind.optional(),
  status: z.enum(['online', 'offline', 'out-of-service']),
  /** The device state machine's current state, for technicians. */
  machineState: z.string().max(64).optional(),
  health: DeviceHealth.optional(),
  /** What a technician sees on the machine: relays (open/closed), sensors (active/idle), slots (enabled/disabled). */
  outputs: z.array(DeviceOutput).max(limits.deviceOutputsMax).optional(),
});
export type DeviceState = z.infer<typeof DeviceState>;

const PublicKey = z.strictObject({
  keyId: z.string().min(1).max(64),
  /** Raw 32-byte Ed25519 public key, base64url without padding. */
  publicKey: z.string().length(43).regex(/^[A-Za-z0-9_-]+$/),
});

export const CatalogItem = z.strictObject({
  slot: z.string().min(1).max(16).optional(),
  article: z.string().min(1).max(limits.articleIdLengthMax),
  name: z.string().min(1).max(limits.articleNameLengthMax),
  price: Money,
  restrictions: Restrictions.optional(),
  /** A kiosk article that is a ticket (claims 15–16). */
  ticket: TicketSpec.optional(),
  /** A kiosk article that is e-money of `price` (claim 34); an item with a ticket too is not e-money. */
  emoney: EmoneySpec.optional(),
});

export const FareTable = z.strictObject({
  currency: Currency,
  /** Charged when the entry station is missing, unreadable or not in the table (the TfL rule). */
  maxFareMinor: z.number().int().min(0).max(limits.amountMinorMax),
  fares: z.array(z.strictObject({
    from: z.string().min(1).max(limits.stationIdLengthMax),
    to: z.string().min(1).max(limits.stationIdLengthMax),
    fareMinor: z.number().int().min(0).max(limits.amountMinorMax),
  })).max(limits.fareEntriesMax),
});

export const DeviceConfig = z.strictObject({
  v: Version,
  type: z.literal('config'),
  requestId: UuidV7,
  sentAt: EpochMs,
  deviceId: DeviceId,
  /** Monotonic: a device applies a config only if its version is newer than the one it runs. */
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  merchant: AccountId,
  catalog: z.array(CatalogItem).max(limits.catalogItemsMax).optional(),
  fareTable: FareTable.optional(),
  denyList: z.array(WalletId).max(limits.denyListMax).optional(),
  keys: z.strictObject({
    issuer: z.array(PublicKey).max(limits.publicKeysMax),
    gates: z.array(PublicKey).max(limits.publicKeysMax),
  }).optional(),
});
export type DeviceConfig = z.infer<typeof DeviceConfig>;

export const DeviceEvent = z.strictObject({
  v: Version,
  type: z.literal('event'),
  requestId: UuidV7,
  sentAt: EpochMs,
  seq: Seq.optional(),
  deviceId: DeviceId,
  kind: z.enum(['tap', 'door', 'tamper', 'error', 'slot-disabled', 'outbox-full', 'info', 'offline-accept', 'deny-listed', 'transition']),
  detail: Detail.optional(),
});
export type DeviceEvent = z.infer<typeof DeviceEvent>;

/** Every message, by its `type`, with the byte limit its body must respect. */
export const messageSchemas = {
  settle: SettleRequest,
  result: SettleResult,
  outcome: Outcome,
  'outcome-ack': OutcomeAck,
  state: DeviceState,
  config: DeviceConfig,
  event: DeviceEvent,
} as const;
export type MessageType = keyof typeof messageSchemas;
