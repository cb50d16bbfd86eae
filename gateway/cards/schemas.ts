/**
 * The wallet API's card payment (claim 36): what the phone sends to
 * `POST /v1/wallets/{walletId}/card-authorizations` and what it gets back.
 */
import { z } from 'zod';
import { AccountId, Money, UuidV7 } from '../../protocol/index.ts';
import { AuthorizationRequest, ResponseCodeSchema } from '../../settlement-core/cards/wire.ts';

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
  /** Who decided: the issuer, or the gateway itself (91 issuer unavailable, 96 garbled answer). */
  source: z.enum(['issuer', 'gateway']),
});
export type CardAuthorizationResult = z.infer<typeof CardAuthorizationResult>;
