/**
 * Card payment at a device (claim 36, issue 7): the bodies on the `card`
 * channel (device → core) and the `card-result` channel (core → device).
 *
 * A device that read a card from the phone (GET CARD, applet.ts) sends a
 * CardAuthorizationRequest; its `requestId` is the authorization id, end to
 * end (the card processing apparatus and the issuer key on it). The gateway
 * answers a DeviceCardResult tagged under the device key, as a SettleResult
 * is. A device that could not complete the sale sends a CardReversalRequest
 * on the same channel and gets a tagged CardReversalAck. A body the gateway
 * cannot take gets a tagged CardErrorNotice with a TS_ERR_ code.
 *
 * The card data travels in the request only: no answer, error or log line
 * carries more of it than the last four digits.
 */
import { z } from 'zod';
import { canonicalBytes } from './canonical.ts';
import { CardData, MerchantCategory, Pin } from './card-data.ts';
import { hmacHex, macEquals } from './crypto.ts';
import { DeviceId, Mac, UuidV7, uuidV7Pattern } from './ids.ts';
import { limits } from './limits.ts';
import { Money } from './money.ts';

const Version = z.literal(limits.protocolVersion);
const EpochMs = z.number().int().min(0).max(limits.epochMsMax);
const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Last4 = z.string().regex(/^\d{4}$/, 'expected the last four digits');

/** Why a device reverses a card sale: it could not hand the goods over, the customer cancelled, or no answer came in time. */
export const deviceReversalReasons = ['not-delivered', 'cancelled', 'timeout'] as const;
export type DeviceReversalReason = (typeof deviceReversalReasons)[number];

export const CardAuthorizationRequest = z.strictObject({
  v: Version,
  type: z.literal('card-authorization'),
  /** The authorization id (UUIDv7), chosen once per tap and written to the outbox before the first publish. */
  requestId: UuidV7,
  sentAt: EpochMs,
  seq: Seq.optional(),
  deviceId: DeviceId,
  card: CardData,
  /** Keyed in at the terminal when the card asks for one. */
  pin: Pin.optional(),
  amount: Money,
  /** ISO 18245 merchant category of the sale. The merchant itself is the device's registered one, never taken from the body. */
  mcc: MerchantCategory,
  article: z.string().min(1).max(limits.articleIdLengthMax).optional(),
});
export type CardAuthorizationRequest = z.infer<typeof CardAuthorizationRequest>;

export const CardReversalRequest = z.strictObject({
  v: Version,
  type: z.literal('card-reversal'),
  /** The reversal's own id: a resend carries the same one. */
  requestId: UuidV7,
  sentAt: EpochMs,
  seq: Seq.optional(),
  deviceId: DeviceId,
  authorizationId: UuidV7,
  reason: z.enum(deviceReversalReasons),
});
export type CardReversalRequest = z.infer<typeof CardReversalRequest>;

/** Who decided: the issuer, or the gateway itself (91, 96). */
export const cardResultSources = ['issuer', 'gateway'] as const;
/** Why the gateway decided when it did (informational; not covered by the tag). */
export const gatewayReasons = ['issuer-unavailable', 'issuer-garbled', 'capture-failed', 'capture-refused', 'reversed'] as const;
export type GatewayReason = (typeof gatewayReasons)[number];

export const DeviceCardResult = z.strictObject({
  v: Version,
  type: z.literal('card-result'),
  /** The authorization id: the requestId of the CardAuthorizationRequest it answers. */
  requestId: UuidV7,
  sentAt: EpochMs,
  deviceId: DeviceId,
  /** ISO 8583 DE39 manner: `00` approved; anything else is not. */
  responseCode: z.string().regex(/^\d{2}$/, 'a response code has two digits'),
  responseText: z.string().min(1).max(60),
  /** True exactly when responseCode is `00`; a device checks both. */
  approved: z.boolean(),
  /** ISO 8583 DE38, on approval only. */
  approvalCode: z.string().regex(/^[0-9A-Z]{6}$/).nullable(),
  card: z.strictObject({ last4: Last4, masked: z.string().min(1).max(40) }),
  amount: Money,
  source: z.enum(cardResultSources),
  gatewayReason: z.enum(gatewayReasons).optional(),
  /** HMAC-SHA256 under the device key over canonical(cardResultTagFields). */
  tag: Mac,
});
export type DeviceCardResult = z.infer<typeof DeviceCardResult>;

/**
 * `reversed`: the money went back from the merchant and the issuer's hold is
 * released. `not-captured`: nothing had been captured (nor will be). `pending`:
 * recorded; the gateway completes it (the issuer or the ledger could not yet).
 */
export const cardReversalStatuses = ['reversed', 'not-captured', 'pending'] as const;
export type CardReversalStatus = (typeof cardReversalStatuses)[number];

export const CardReversalAck = z.strictObject({
  v: Version,
  type: z.literal('card-reversal-ack'),
  /** The requestId of the CardReversalRequest it answers. */
  requestId: UuidV7,
  sentAt: EpochMs,
  deviceId: DeviceId,
  authorizationId: UuidV7,
  status: z.enum(cardReversalStatuses),
  tag: Mac,
});
export type CardReversalAck = z.infer<typeof CardReversalAck>;

/** Stable codes of a card body the gateway did not take (docs/protocol.md §3.8). Never renumbered, only appended. */
export const cardErrorCodes = [
  'TS_ERR_MALFORMED_JSON',
  'TS_ERR_INVALID_BODY',
  'TS_ERR_PAYLOAD_TOO_LARGE',
  'TS_ERR_UNSUPPORTED_VERSION',
  'TS_ERR_DEVICE_MISMATCH',
  'TS_ERR_UNKNOWN_DEVICE',
  'TS_ERR_DEVICE_NOT_ACTIVE',
  'TS_ERR_CARD_DUPLICATE_MISMATCH',
  'TS_ERR_CARD_UNAVAILABLE',
] as const;
export type CardErrorCode = (typeof cardErrorCodes)[number];

export const CardErrorNotice = z.strictObject({
  v: Version,
  type: z.literal('card-error'),
  /** The requestId of the body refused, when it could be read; absent otherwise. */
  requestId: UuidV7.optional(),
  sentAt: EpochMs,
  deviceId: DeviceId,
  code: z.enum(cardErrorCodes),
  /** Names the field and the rule, never a value. */
  detail: z.string().max(limits.detailLengthMax),
  tag: Mac,
});
export type CardErrorNotice = z.infer<typeof CardErrorNotice>;

/** Every card body by its `type`, for the JSON Schema export. */
export const cardMessageSchemas = {
  'card-authorization': CardAuthorizationRequest,
  'card-reversal': CardReversalRequest,
  'card-result': DeviceCardResult,
  'card-reversal-ack': CardReversalAck,
  'card-error': CardErrorNotice,
} as const;

// ---- tags ------------------------------------------------------------------

export const cardDomains = {
  cardResult: 'tapsettle/v1/card-result',
  cardReversalAck: 'tapsettle/v1/card-reversal-ack',
  cardError: 'tapsettle/v1/card-error',
} as const;

export type CardResultTagFields = Pick<DeviceCardResult, 'deviceId' | 'requestId' | 'responseCode' | 'approved' | 'approvalCode' | 'amount' | 'card' | 'source'>;

/** What a device acts on: whose, which authorization, the decision, the approval code, the amount and the card shown. */
export const cardResultTag = (deviceKey: Uint8Array, r: CardResultTagFields): string =>
  hmacHex(deviceKey, canonicalBytes(cardDomains.cardResult, [
    r.deviceId, r.requestId, r.responseCode, r.approved ? 1 : 0, r.approvalCode, r.amount.minor, r.amount.currency, r.card.last4, r.source,
  ]));

export const verifyCardResultTag = (deviceKey: Uint8Array, r: DeviceCardResult): boolean => macEquals(cardResultTag(deviceKey, r), r.tag);

export type CardReversalAckTagFields = Pick<CardReversalAck, 'deviceId' | 'requestId' | 'authorizationId' | 'status'>;

export const cardReversalAckTag = (deviceKey: Uint8Array, a: CardReversalAckTagFields): string =>
  hmacHex(deviceKey, canonicalBytes(cardDomains.cardReversalAck, [a.deviceId, a.requestId, a.authorizationId, a.status]));

export const verifyCardReversalAckTag = (deviceKey: Uint8Array, a: CardReversalAck): boolean => macEquals(cardReversalAckTag(deviceKey, a), a.tag);

export type CardErrorTagFields = Pick<CardErrorNotice, 'deviceId' | 'requestId' | 'code'>;

export const cardErrorTag = (deviceKey: Uint8Array, e: CardErrorTagFields): string =>
  hmacHex(deviceKey, canonicalBytes(cardDomains.cardError, [e.deviceId, e.requestId, e.code]));

export const verifyCardErrorTag = (deviceKey: Uint8Array, e: CardErrorNotice): boolean => macEquals(cardErrorTag(deviceKey, e), e.tag);

// ---- decoding ----------------------------------------------------------------

export type DecodedCardMessage =
  | { ok: true; value: CardAuthorizationRequest | CardReversalRequest }
  | { ok: false; code: CardErrorCode; detail: string; requestId: string | null };

/**
 * The field and the rule of a refusal, never the value: zod's messages name
 * the rule; an unknown key is named only when it looks like a field name (a
 * key may be anything, card digits included). Any run of digits that still
 * slips through is cut (belt and braces).
 */
function describe(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 3).map((i) => {
    const where = i.path.map(String).join('.') || '(body)';
    if (i.code === 'unrecognized_keys') {
      const named = i.keys.filter((k) => /^[A-Za-z_]{1,32}$/.test(k));
      return `${where}: unknown field${named.length > 0 ? ` ${named.join(', ')}` : ''}`;
    }
    return `${where}: ${i.message}`;
  }).join('; ').replace(/\d{5,}/g, '[digits]').slice(0, limits.detailLengthMax);
}

function codeOf(issues: readonly z.core.$ZodIssue[]): CardErrorCode {
  return issues.some((i) => i.path[0] === 'v' && i.code !== 'unrecognized_keys') ? 'TS_ERR_UNSUPPORTED_VERSION' : 'TS_ERR_INVALID_BODY';
}

function readRequestId(body: object): string | null {
  const id = (body as { requestId?: unknown }).requestId;
  return typeof id === 'string' && uuidV7Pattern.test(id) ? id : null;
}

/** Bytes from the `card` channel → a request, or a coded refusal that echoes no value. Never throws. */
export function decodeCardMessage(payload: Uint8Array | string): DecodedCardMessage {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > limits.messageBytesMax) return { ok: false, code: 'TS_ERR_PAYLOAD_TOO_LARGE', detail: `body is ${size} bytes, limit ${limits.messageBytesMax}`, requestId: null };
  let body: unknown;
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    // JSON.parse's message quotes the text around the fault: never repeated.
    return { ok: false, code: 'TS_ERR_MALFORMED_JSON', detail: 'the body is not valid JSON', requestId: null };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, code: 'TS_ERR_MALFORMED_JSON', detail: 'the body is not one JSON object', requestId: null };
  const requestId = readRequestId(body);
  const type = (body as { type?: unknown }).type;
  const schema = type === 'card-authorization' ? CardAuthorizationRequest : type === 'card-reversal' ? CardReversalRequest : null;
  if (schema === null) return { ok: false, code: 'TS_ERR_INVALID_BODY', detail: 'type: expected "card-authorization" or "card-reversal"', requestId };
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { ok: false, code: codeOf(parsed.error.issues), detail: describe(parsed.error.issues), requestId };
  return { ok: true, value: parsed.data };
}
