/**
 * Claim 36 on the wallet API: `POST /v1/wallets/{walletId}/card-authorizations`.
 * The phone sends card information (the card it holds, a PIN if it asks the
 * user for one, the amount and the merchant), proven with the wallet's
 * request proof like every wallet route (wallet-proof.ts: the proof covers
 * the exact body bytes, the counter is consumed first). The answer is the
 * issuer's decision as a CardAuthorizationResult, or 91/96 decided here.
 *
 *   200  a CardAuthorizationResult (any response code)
 *   400  TS_ERR_MALFORMED_JSON / TS_ERR_INVALID_BODY / TS_ERR_INVALID_PARAMS / TS_ERR_INVALID_QUERY
 *   401  TS_ERR_PROOF_MISSING / TS_ERR_BAD_PROOF / TS_ERR_COUNTER_REUSED;  403 TS_ERR_WALLET_NOT_ACTIVE
 *   409  TS_ERR_CARD_DUPLICATE_MISMATCH: this authorizationId was used with other content or by another wallet
 *   503  TS_ERR_CARD_BUSY: too many card requests waiting for the issuer; resend the same id
 *        TS_ERR_UNAVAILABLE: the authorization log could not be written; resend the same id
 *
 * Error messages name the field, never its value: no card data comes back in one.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { scrubDigits } from '../../settlement-core/cards/index.ts';
import { HttpError, errorBody } from '../http/errors.ts';
import { EmptyQuery, WalletParams, parseJsonBody, parseWith } from '../http/schemas.ts';
import { authenticate, queryParams } from '../http/wallet-proof.ts';
import type { CardProcessor } from './card-processor.ts';
import { CardAuthorizationBody } from './schemas.ts';

export interface CardRouteDeps {
  core: SettlementCore;
  processor: CardProcessor;
}

export const cardRouteErrors = {
  TS_ERR_CARD_DUPLICATE_MISMATCH: 409,
  TS_ERR_CARD_BUSY: 503,
} as const;

const sendCardError = (reply: FastifyReply, code: keyof typeof cardRouteErrors, message: string): FastifyReply => {
  if (code === 'TS_ERR_CARD_BUSY') void reply.header('retry-after', '1');
  return reply.code(cardRouteErrors[code]).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(errorBody(code, message));
};

/** The body from raw bytes; a refusal says which field and which rule, and any digits of the value sent are scrubbed. */
function parseBody(raw: unknown): CardAuthorizationBody {
  try {
    return parseJsonBody(raw, CardAuthorizationBody);
  } catch (err) {
    if (err instanceof HttpError) throw new HttpError(err.code, scrubDigits(err.message));
    throw err;
  }
}

const isSqliteError = (err: unknown): boolean => err instanceof Error && err.name === 'SqliteError';

export function registerCardRoutes(app: FastifyInstance, deps: CardRouteDeps): void {
  app.post('/v1/wallets/:walletId/card-authorizations', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    parseWith(EmptyQuery, params, 'TS_ERR_INVALID_QUERY');
    const body = parseBody(request.body);
    const wallet = await authenticate(deps.core, request.headers, { walletId, method: 'POST', path: `/v1/wallets/${walletId}/card-authorizations`, params, body: request.body as Buffer });
    let answer: Awaited<ReturnType<CardProcessor['authorize']>>;
    try {
      answer = await deps.processor.authorize(wallet.id, body);
    } catch (err) {
      if (isSqliteError(err)) throw new HttpError('TS_ERR_UNAVAILABLE', 'the card authorization log could not be written; send the same authorizationId again');
      throw err;
    }
    if (answer.kind === 'mismatch') return sendCardError(reply, 'TS_ERR_CARD_DUPLICATE_MISMATCH', 'this authorizationId was already used with different content; a new payment needs a new id');
    if (answer.kind === 'busy') return sendCardError(reply, 'TS_ERR_CARD_BUSY', 'too many card authorizations are waiting for the issuer; send the same authorizationId again shortly');
    return reply.code(200).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(answer.json);
  });
}
