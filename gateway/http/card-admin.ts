/**
 * Admin HTTP for card sales (claim 36): what an operator and an auditor need
 * (docs/card-settlement.md, "Operator: listing and reversing card sales").
 * Registered only when the card processing apparatus exists; without it these
 * paths are the usual coded 404.
 *
 * `GET /v1/card-authorizations?limit=N&before=<authorizationId>`: the card
 * authorization log, newest first, a page at a time — who asked, the masked
 * card and its issuer token, amount, answer, capture, and the reversal if any.
 * Never a PAN, CVV, PIN or the log's fingerprint: the log holds none but the
 * fingerprint, and that is not read.
 *
 * `POST /v1/card-authorizations/{authorizationId}/reversal` with
 * `{ "reason": "operator" }`: the operator undoes a sale (a refund of a
 * completed card sale) in the ledger and at the issuer. The reversal is
 * recorded for the authorization's own principal (the reversal log takes a
 * reversal only from whoever made the authorization) with the reason
 * `operator`, which neither a wallet nor a device can send: that is how the
 * list tells an operator's reversal apart.
 *
 *   200  a CardReversalResult, final;  202  the same, `pending` (the gateway completes it)
 *   400  TS_ERR_INVALID_PARAMS / TS_ERR_INVALID_QUERY / TS_ERR_INVALID_BODY / TS_ERR_MALFORMED_JSON
 *   401  TS_ERR_ADMIN_TOKEN: no or a wrong `authorization: Bearer <adminToken>`
 *   403  TS_ERR_ADMIN_TOKEN_NOT_CONFIGURED: the gateway has no admin token, so these routes are shut
 *   404  TS_ERR_CARD_UNKNOWN_AUTHORIZATION: the log has no authorization with this id (`before` too)
 *   409  TS_ERR_CARD_DUPLICATE_MISMATCH: the sale was already reversed with another reason
 *   503  TS_ERR_UNAVAILABLE: the card log could not be read or written; send the same request again
 *
 * Both routes ALWAYS need the admin token, whatever guards /metrics: a
 * reversal moves money. The token is checked before the body is read.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { maskPan } from '../../protocol/card-data.ts';
import { UuidV7 } from '../../protocol/index.ts';
import { scrubDigits } from '../../settlement-core/cards/index.ts';
import type { LogEntry, Principal } from '../cards/authorization-log.ts';
import type { CardProcessor } from '../cards/card-processor.ts';
import type { ReversalRow } from '../cards/reversal-log.ts';
import { checkToken, tokenDigest } from './admin.ts';
import { HttpError, errorBody } from './errors.ts';
import { EmptyQuery, parseJsonBody, parseWith } from './schemas.ts';

/** Entries per page when `limit` is not given: a screen of them. */
export const cardAuthorizationsDefault = 50;
/** The most per page: one SELECT with LIMIT and one more for their reversals; enough for an export loop. */
export const cardAuthorizationsMax = 500;

export const cardAdminErrors = {
  TS_ERR_ADMIN_TOKEN_NOT_CONFIGURED: 403,
  TS_ERR_CARD_UNKNOWN_AUTHORIZATION: 404,
  TS_ERR_CARD_DUPLICATE_MISMATCH: 409,
} as const;
type CardAdminErrorCode = keyof typeof cardAdminErrors;

export interface CardAdminDeps {
  processor: CardProcessor;
  /** The gateway's admin token; without one every route here answers 403. */
  adminToken?: string;
}

/** A decimal integer in a query string: digits only, no sign, no leading zeros. */
const decimal = (max: number) => z.string().max(16).regex(/^(0|[1-9]\d*)$/, 'expected a decimal integer').transform(Number).pipe(z.number().int().min(1).max(max));

export const CardAuthorizationsQuery = z.strictObject({ limit: decimal(cardAuthorizationsMax).optional(), before: UuidV7.optional() });
const AuthorizationParams = z.strictObject({ authorizationId: UuidV7 });
/** Only the operator's reason: the device and wallet reasons belong to their own routes. */
export const OperatorReversalBody = z.strictObject({ reason: z.literal('operator') });

const sendCode = (reply: FastifyReply, code: CardAdminErrorCode, message: string): FastifyReply =>
  reply.code(cardAdminErrors[code]).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(errorBody(code, message));

/** How the log stores a principal (principalKey), back to who it is. */
const principalOf = (key: string): Principal => (key.startsWith('device:') ? { kind: 'device', id: key.slice('device:'.length) } : { kind: 'wallet', id: key });

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** An operator's reversal is recorded as the principal's with the reason only this route sends. */
const requestedBy = (r: ReversalRow): 'principal' | 'gateway' | 'operator' => (r.reason === 'operator' && r.requestedBy === 'principal' ? 'operator' : r.requestedBy);

/** One line of the list. Times are ISO 8601 strings; no field holds card data beyond the token and last four. */
export function authorizationView(e: LogEntry, r: ReversalRow | null) {
  return {
    authorizationId: e.authorizationId,
    who: principalOf(e.principal),
    card: { masked: maskPan(e.last4), last4: e.last4, token: e.cardToken },
    amount: { minor: e.amountMinor, currency: e.currency },
    merchant: e.merchant,
    mcc: e.mcc,
    responseCode: e.responseCode,
    source: e.source,
    final: e.final,
    attempts: e.attempts,
    capture: e.captureStatus === null ? null : { status: e.captureStatus, reason: e.captureReason },
    requestedAt: iso(e.requestedAt),
    answeredAt: iso(e.answeredAt),
    reversal: r === null ? null : {
      state: r.state, reason: r.reason, requestedBy: requestedBy(r), ledger: r.ledgerStatus, issuer: r.issuerStatus, attempts: r.attempts,
      lastError: r.lastError === null ? null : scrubDigits(r.lastError), requestedAt: iso(r.requestedAt), finishedAt: iso(r.finishedAt),
    },
  };
}
export type AuthorizationView = ReturnType<typeof authorizationView>;

const isSqliteError = (err: unknown): boolean => err instanceof Error && err.name === 'SqliteError';

/** The card log failing is a 503 to retry, never a 500 with the driver's words. */
async function logged<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isSqliteError(err)) throw new HttpError('TS_ERR_UNAVAILABLE', 'the card authorization log could not be read or written; send the same request again');
    throw err;
  }
}

export function registerCardAdminRoutes(app: FastifyInstance, deps: CardAdminDeps): void {
  const { processor } = deps;
  const expected = deps.adminToken === undefined ? null : tokenDigest(deps.adminToken);

  /** Before the body is parsed: nobody without the token learns anything, not even what a good body looks like. */
  const guard = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (expected === null) return sendCode(reply, 'TS_ERR_ADMIN_TOKEN_NOT_CONFIGURED', 'card sales can be listed and reversed only on a gateway with an admin token: set http.adminToken in its config');
    checkToken(expected, request);
    return Promise.resolve(undefined);
  };

  app.get('/v1/card-authorizations', { onRequest: guard }, async (request, reply) => {
    const query = parseWith(CardAuthorizationsQuery, request.query, 'TS_ERR_INVALID_QUERY');
    const limit = query.limit ?? cardAuthorizationsDefault;
    const page = await logged(() => {
      const entries = processor.log.list({ limit, ...(query.before !== undefined ? { before: query.before } : {}) });
      return entries === null ? null : { entries, reversals: processor.log.reversals.getMany(entries.map((e) => e.authorizationId)) };
    });
    if (page === null) return sendCode(reply, 'TS_ERR_CARD_UNKNOWN_AUTHORIZATION', 'before: no card authorization with this id');
    const authorizations = page.entries.map((e) => authorizationView(e, page.reversals.get(e.authorizationId) ?? null));
    const next = authorizations.length === limit ? authorizations[authorizations.length - 1]!.authorizationId : null;
    return reply.header('cache-control', 'no-store').send({ authorizations, next });
  });

  app.post('/v1/card-authorizations/:authorizationId/reversal', { onRequest: guard }, async (request, reply) => {
    const { authorizationId } = parseWith(AuthorizationParams, request.params, 'TS_ERR_INVALID_PARAMS');
    parseWith(EmptyQuery, request.query, 'TS_ERR_INVALID_QUERY');
    let body: z.output<typeof OperatorReversalBody>;
    try {
      body = parseJsonBody(request.body, OperatorReversalBody);
    } catch (err) {
      if (err instanceof HttpError) throw new HttpError(err.code, scrubDigits(err.message));
      throw err;
    }
    const entry = await logged(() => processor.log.get(authorizationId));
    if (entry === null) return sendCode(reply, 'TS_ERR_CARD_UNKNOWN_AUTHORIZATION', 'no card authorization with this id in the log');
    const answer = await logged(() => processor.reverse(principalOf(entry.principal), authorizationId, body.reason, true));
    if (answer.kind === 'mismatch') return sendCode(reply, 'TS_ERR_CARD_DUPLICATE_MISMATCH', 'this sale was already reversed with another reason; that reversal stands');
    return reply.code(answer.final ? 200 : 202).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(answer.json);
  });
}
