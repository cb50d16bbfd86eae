/**
 * Claim 36 on the wallet API, proven with the wallet's request proof like
 * every wallet route (wallet-proof.ts: the proof covers the exact body
 * bytes, the counter is consumed first).
 *
 * `POST /v1/wallets/{walletId}/card-authorizations`: the phone sends card
 * information (the card it holds, a PIN if it asks the user for one, the
 * amount and the merchant). The answer is the issuer's decision as a
 * CardAuthorizationResult — an approval only once the sale is captured in
 * the ledger — or 91/96 decided here.
 *
 *   200  a CardAuthorizationResult (any response code)
 *   400  TS_ERR_MALFORMED_JSON / TS_ERR_INVALID_BODY / TS_ERR_INVALID_PARAMS / TS_ERR_INVALID_QUERY
 *   401  TS_ERR_PROOF_MISSING / TS_ERR_BAD_PROOF / TS_ERR_COUNTER_REUSED;  403 TS_ERR_WALLET_NOT_ACTIVE
 *   409  TS_ERR_CARD_DUPLICATE_MISMATCH: this authorizationId was used with other content or by another wallet
 *   503  TS_ERR_CARD_BUSY: too many card requests waiting for the issuer; resend the same id
 *        TS_ERR_UNAVAILABLE: the authorization log could not be written; resend the same id
 *
 * `POST /v1/wallets/{walletId}/card-authorizations/{authorizationId}/reversal`
 * with `{ "reason": "not-delivered" | "cancelled" | "timeout" }`: the phone
 * undoes a card payment it could not complete, in the ledger and at the
 * issuer. Idempotent: the same reversal again gets the same answer.
 *
 *   200  a CardReversalResult, final (`reversed` or `not-captured`)
 *   202  a CardReversalResult `pending`: recorded; the gateway completes it; send it again to see it done
 *   409  TS_ERR_CARD_DUPLICATE_MISMATCH: the id belongs to another wallet's payment, or was reversed with another reason
 *   (and the 400/401/403/503 above)
 *
 * Error messages name the field, never its value: no card data comes back in one.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { UuidV7, WalletId } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { scrubDigits } from '../../settlement-core/cards/index.ts';
import { HttpError, errorBody } from '../http/errors.ts';
import { EmptyQuery, WalletParams, parseJsonBody, parseWith } from '../http/schemas.ts';
import { authenticate, queryParams } from '../http/wallet-proof.ts';
import type { CardProcessor } from './card-processor.ts';
import { CardAuthorizationBody, CardReversalBody } from './schemas.ts';

export interface CardRouteDeps {
  core: SettlementCore;
  processor: CardProcessor;
}

export const cardRouteErrors = {
  TS_ERR_CARD_DUPLICATE_MISMATCH: 409,
  TS_ERR_CARD_BUSY: 503,
} as const;

const ReversalParams = z.strictObject({ walletId: WalletId, authorizationId: UuidV7 });

const sendCardError = (reply: FastifyReply, code: keyof typeof cardRouteErrors, message: string): FastifyReply => {
  if (code === 'TS_ERR_CARD_BUSY') void reply.header('retry-after', '1');
  return reply.code(cardRouteErrors[code]).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(errorBody(code, message));
};

const sendJson = (reply: FastifyReply, status: number, json: string): FastifyReply =>
  reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(json);

/** The body from raw bytes; a refusal says which field and which rule, and any digits of the value sent are scrubbed. */
function parseBody<S extends z.ZodType>(raw: unknown, schema: S): z.output<S> {
  try {
    return parseJsonBody(raw, schema);
  } catch (err) {
    if (err instanceof HttpError) throw new HttpError(err.code, scrubDigits(err.message));
    throw err;
  }
}

const isSqliteError = (err: unknown): boolean => err instanceof Error && err.name === 'SqliteError';

/** A log that cannot be written is a 503 the phone may retry, never a 500 with the driver's words. */
async function logged<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isSqliteError(err)) throw new HttpError('TS_ERR_UNAVAILABLE', 'the card authorization log could not be written; send the same request again');
    throw err;
  }
}

export function registerCardRoutes(app: FastifyInstance, deps: CardRouteDeps): void {
  app.post('/v1/wallets/:walletId/card-authorizations', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    parseWith(EmptyQuery, params, 'TS_ERR_INVALID_QUERY');
    const body = parseBody(request.body, CardAuthorizationBody);
    const wallet = await authenticate(deps.core, request.headers, { walletId, method: 'POST', path: `/v1/wallets/${walletId}/card-authorizations`, params, body: request.body as Buffer });
    const answer = await logged(() => deps.processor.authorize({ kind: 'wallet', id: wallet.id }, body));
    if (answer.kind === 'mismatch') return sendCardError(reply, 'TS_ERR_CARD_DUPLICATE_MISMATCH', 'this authorizationId was already used with different content; a new payment needs a new id');
    if (answer.kind === 'busy') return sendCardError(reply, 'TS_ERR_CARD_BUSY', 'too many card authorizations are waiting for the issuer; send the same authorizationId again shortly');
    return sendJson(reply, 200, answer.json);
  });

  app.post('/v1/wallets/:walletId/card-authorizations/:authorizationId/reversal', async (request, reply) => {
    const { walletId, authorizationId } = parseWith(ReversalParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    parseWith(EmptyQuery, params, 'TS_ERR_INVALID_QUERY');
    const body = parseBody(request.body, CardReversalBody);
    const path = `/v1/wallets/${walletId}/card-authorizations/${authorizationId}/reversal`;
    const wallet = await authenticate(deps.core, request.headers, { walletId, method: 'POST', path, params, body: request.body as Buffer });
    const answer = await logged(() => deps.processor.reverse({ kind: 'wallet', id: wallet.id }, authorizationId, body.reason, true));
    if (answer.kind === 'mismatch') return sendCardError(reply, 'TS_ERR_CARD_DUPLICATE_MISMATCH', 'this authorizationId belongs to another payment, or was reversed with another reason');
    return sendJson(reply, answer.final ? 200 : 202, answer.json);
  });
}
