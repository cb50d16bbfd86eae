/**
 * The wallet API's card payment (claim 36): what the phone sends to
 * `POST /v1/wallets/{walletId}/card-authorizations` and
 * `POST /v1/wallets/{walletId}/card-authorizations/{authorizationId}/reversal`,
 * and what it gets back.
 */
import { z } from 'zod';
import { AccountId, Money, UuidV7 } from '../../protocol/index.ts';
import { deviceReversalReasons, gatewayReasons } from '../../protocol/card-messages.ts';
import { AuthorizationRequest, ResponseCodeSchema } from '../../settlement-core/cards/wire.ts';
import { reversalReasons } from './reversal-log.ts';

/** What the issuer is asked, without its wire version: the authorizationId is a UUIDv7 the phone chooses once per payment and keeps on every resend. */
export const CardAuthorizationBody = AuthorizationRequest.omit({ v: true });
export type CardAuthorizationBody = z.infer<typeof CardAuthorizationBody>;

export const CardAuthorizationResult = z.strictObject({
  v: z.literal(1),
  authorizationId: UuidV7,
  responseCode: ResponseCodeSchema,
  responseText: z.string().max(60),
  approved: z.boolean(),
  approvalCode: z.string().regex(/^[0-9A-Z]{6}$/).nullable(),
  card: z.strictObject({ token: z.string().max(40).nullable(), last4: z.string().regex(/^\d{4}$/), masked: z.string().max(40) }),
  amount: Money,
  merchant: AccountId,
  decidedAt: z.number().int().min(0),
  /** Who decided: the issuer, or the gateway itself (91 issuer unavailable, 96 garbled answer or a sale the ledger would not take). */
  source: z.enum(['issuer', 'gateway']),
  /** Set when the gateway decided: why (docs/gateway.md, "Card payments"). */
  gatewayReason: z.enum(gatewayReasons).optional(),
});
export type CardAuthorizationResult = z.infer<typeof CardAuthorizationResult>;

/** The phone undoes a card payment it could not complete: the goods did not come, the user cancelled, or it heard no answer. */
export const CardReversalBody = z.strictObject({ reason: z.enum(deviceReversalReasons) });
export type CardReversalBody = z.infer<typeof CardReversalBody>;

export const CardReversalResult = z.strictObject({
  v: z.literal(1),
  authorizationId: UuidV7,
  /** `reversed`: money back from the merchant, the card's hold released; `not-captured`: nothing had been taken; `pending`: recorded, still being done. */
  status: z.enum(['reversed', 'not-captured', 'pending']),
  reason: z.enum(reversalReasons),
  /** The authorization's amount; null when the reversal came before any authorization with this id. */
  amount: Money.nullable(),
  requestedAt: z.number().int().min(0),
  reversedAt: z.number().int().min(0).nullable(),
});
export type CardReversalResult = z.infer<typeof CardReversalResult>;
