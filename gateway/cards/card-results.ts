/** The answers of the card processing apparatus, built from the issuer's answer or decided by the gateway, and read back from its log. */
import { maskPan } from '../../protocol/card-data.ts';
import type { GatewayReason } from '../../protocol/card-messages.ts';
import { responseCodes } from '../../settlement-core/cards/index.ts';
import type { AuthorizationResponse } from '../../settlement-core/cards/index.ts';
import { invariant } from '../../settlement-core/errors.ts';
import { CardAuthorizationResult } from './schemas.ts';
import type { CardAuthorizationBody } from './schemas.ts';

/** Assert on both sides of the disk: a stored answer is still a result, for its own id. */
export function readBack(json: string, authorizationId: string): CardAuthorizationResult {
  const parsed = CardAuthorizationResult.safeParse(JSON.parse(json));
  invariant(parsed.success && parsed.data.authorizationId === authorizationId, 'a logged card answer reads back as one, for its own id');
  return parsed.data;
}

export function fromIssuer(r: AuthorizationResponse, body: CardAuthorizationBody): CardAuthorizationResult {
  return {
    v: 1, authorizationId: r.authorizationId, responseCode: r.responseCode, responseText: responseCodes[r.responseCode], approved: r.approved,
    approvalCode: r.approvalCode, card: { token: r.cardToken, last4: r.last4, masked: maskPan(r.last4) }, amount: r.amount, merchant: body.merchant,
    decidedAt: r.decidedAt, source: 'issuer',
  };
}

/** 91 (the issuer did not answer) or 96 (its answer was garbled, or the ledger would not or could not take the sale), decided here. */
export function fromGateway(code: '91' | '96', reason: GatewayReason, body: CardAuthorizationBody, now: number): CardAuthorizationResult {
  const last4 = body.card.pan.slice(-4);
  return {
    v: 1, authorizationId: body.authorizationId, responseCode: code, responseText: responseCodes[code], approved: false, approvalCode: null,
    card: { token: null, last4, masked: maskPan(last4) }, amount: body.amount, merchant: body.merchant, decidedAt: now, source: 'gateway', gatewayReason: reason,
  };
}
