/**
 * The card authentication apparatus as its own HTTP service (claim 36):
 *
 *   POST /v1/authorizations   an AuthorizationRequest → an AuthorizationResponse (200),
 *                             whatever the decision; errors are coded 4xx
 *   POST /v1/reversals        a ReversalRequest → a ReversalResponse (200): reversed,
 *                             not-approved or unknown-authorization; 409 for the id
 *                             reversed with other content or another amount; 503
 *                             when the database failed (nothing written: resend)
 *   GET  /healthz             200 while the database answers
 *
 * Only the card processing apparatus may ask: every request carries
 * `authorization: Bearer <acquirer token>`, or the host would be an oracle
 * for card numbers and CVVs. Bodies are parsed from raw bytes by strict
 * schemas; an error names what is wrong, never a value. The logger redacts
 * every card field, and no card field is ever handed to it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { CardStore } from './card-store.ts';
import type { CardStoreLimits } from './card-store.ts';
import { CardError, scrubDigits } from './errors.ts';
import { issuerWireVersion, AuthorizationRequest, ReversalRequest } from './wire.ts';
import type { AuthorizationResponse } from './wire.ts';

export interface IssuerHostLimits {
  /** An AuthorizationRequest is ~400 bytes; 2 KiB leaves room and refuses anything else early. */
  bodyLimitBytes: number;
  /** The whole request must arrive within this (slow-drip clients). */
  requestTimeoutMs: number;
  /** A socket with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** How long an idle keep-alive connection from the gateway waits for its next request. */
  keepAliveTimeoutMs: number;
  /** Open sockets at once: a few gateways, each with a bounded pool; more is an attack. */
  connectionsMax: number;
  /** At close, requests in flight get this long; then every connection still open is cut. */
  shutdownGraceMs: number;
}

export const defaultIssuerHostLimits: IssuerHostLimits = {
  bodyLimitBytes: 2048,
  requestTimeoutMs: 5000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 10_000,
  connectionsMax: 256,
  shutdownGraceMs: 2000,
};

/** Acquirer tokens shorter than this are refused at start: 128 bits in base64 or hex is at least 22 characters. */
export const acquirerTokenCharsMin = 22;

/** Every card field a log line could carry, wherever it sits: censored. */
export const cardRedactPaths = ['pan', 'cvv', 'pin', 'card', 'body', '*.pan', '*.cvv', '*.pin', '*.card', '*.body', 'req.body', 'request.body'];

export interface IssuerHostOptions {
  /** The issuer database file (its own, never the ledger's). */
  dbPath: string;
  /** At least 32 random bytes, kept outside the database (see docs/ledger.md "Cards"). */
  pepper: Uint8Array;
  /** The bearer token the card processing apparatus presents. */
  acquirerToken: string;
  /** 0 picks a free port (tests). */
  port: number;
  host: string;
  logger?: Logger;
  clock?: () => number;
  limits?: Partial<IssuerHostLimits>;
  storeLimits?: Partial<CardStoreLimits>;
}

export interface IssuerHost {
  port: number;
  url: string;
  store: CardStore;
  close(): Promise<void>;
}

export const issuerHttpErrors = {
  TS_ERR_MALFORMED_JSON: 400,
  TS_ERR_INVALID_BODY: 400,
  TS_ERR_CARD_ACQUIRER: 401,
  TS_ERR_NOT_FOUND: 404,
  TS_ERR_CARD_DUPLICATE_MISMATCH: 409,
  TS_ERR_CARD_REVERSAL_MISMATCH: 409,
  TS_ERR_BODY_TOO_LARGE: 413,
  TS_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  TS_ERR_INTERNAL: 500,
  TS_ERR_UNAVAILABLE: 503,
} as const;
type IssuerHttpErrorCode = keyof typeof issuerHttpErrors;

class IssuerHttpError extends Error {
  constructor(readonly code: IssuerHttpErrorCode, message: string) {
    super(scrubDigits(message));
  }
}

const sendError = (reply: FastifyReply, code: IssuerHttpErrorCode, message: string): FastifyReply =>
  reply.code(issuerHttpErrors[code]).header('cache-control', 'no-store').type('application/json; charset=utf-8').send({ error: { code, message: scrubDigits(message).slice(0, 300) } });

const fastifyCodes: Record<string, IssuerHttpErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TS_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TS_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TS_ERR_INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TS_ERR_MALFORMED_JSON',
};

function checkOptions(o: IssuerHostOptions, l: IssuerHostLimits): void {
  const bad = (what: string): never => {
    throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', what);
  };
  for (const [name, value] of Object.entries(l)) if (!Number.isSafeInteger(value) || value < 1) bad(`limit ${name} must be an integer ≥ 1, got ${String(value)}`);
  if (typeof o.acquirerToken !== 'string' || o.acquirerToken.length < acquirerTokenCharsMin) bad(`acquirerToken must be at least ${acquirerTokenCharsMin} characters`);
  if (!Number.isSafeInteger(o.port) || o.port < 0 || o.port > 65535) bad(`port must be 0..65535, got ${o.port}`);
  if (typeof o.host !== 'string' || o.host.length === 0) bad('host must be an address to listen on');
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export async function startIssuerHost(options: IssuerHostOptions): Promise<IssuerHost> {
  const limits: IssuerHostLimits = { ...defaultIssuerHostLimits, ...options.limits };
  checkOptions(options, limits);
  const store = new CardStore({ path: options.dbPath, pepper: options.pepper, ...(options.clock ? { clock: options.clock } : {}), ...(options.storeLimits ? { limits: options.storeLimits } : {}) });
  const logger: FastifyBaseLogger | undefined = options.logger?.child({ component: 'issuer-host' }, { redact: { paths: cardRedactPaths, censor: '[card data]' } });
  const app = Fastify({
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    return503OnClosing: true,
    ...(logger ? { loggerInstance: logger } : { logger: false }),
  });
  app.server.maxConnections = limits.connectionsMax;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  installErrors(app);
  routes(app, store, digest(options.acquirerToken));
  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (err) {
    store.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `http://${hostInUrl}:${port}`,
    store,
    close: async () => {
      const cut = setTimeout(() => app.server.closeAllConnections(), limits.shutdownGraceMs);
      try {
        await app.close();
      } finally {
        clearTimeout(cut);
        store.close();
      }
    },
  };
}

function installErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request, reply) => {
    if (err instanceof IssuerHttpError) return sendError(reply, err.code, err.message);
    const fe = err as { code?: unknown; statusCode?: unknown };
    const mapped = typeof fe.code === 'string' ? fastifyCodes[fe.code] : undefined;
    if (mapped !== undefined) return sendError(reply, mapped, mapped === 'TS_ERR_BODY_TOO_LARGE' ? 'the body is larger than the limit' : 'the request body is not acceptable');
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return sendError(reply, 'TS_ERR_INVALID_BODY', 'bad request');
    request.log.error({ errName: err instanceof Error ? err.name : typeof err, errCode: typeof fe.code === 'string' ? fe.code : undefined }, 'unexpected error in the issuer host');
    return sendError(reply, 'TS_ERR_INTERNAL', 'internal error; see the issuer log');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 'TS_ERR_NOT_FOUND', `no route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 100)}`));
}

interface BodySchema<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

function parseRequest<T>(raw: unknown, schema: BodySchema<T>, what: string): T {
  if (!Buffer.isBuffer(raw)) throw new IssuerHttpError('TS_ERR_MALFORMED_JSON', `expected an ${what} with content-type application/json`);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new IssuerHttpError('TS_ERR_MALFORMED_JSON', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new IssuerHttpError('TS_ERR_MALFORMED_JSON', 'the body must be one JSON object');
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  // zod's messages name the rule, never the value; the path names the field.
  throw new IssuerHttpError('TS_ERR_INVALID_BODY', `${issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : ''}${issue?.message ?? 'invalid'}`);
}

function routes(app: FastifyInstance, store: CardStore, tokenDigest: Buffer): void {
  app.get('/healthz', async (_request, reply) => {
    if (!store.ping()) throw new IssuerHttpError('TS_ERR_UNAVAILABLE', 'the issuer database does not answer');
    return reply.code(200).send({ status: 'ok', v: issuerWireVersion });
  });

  const checkAcquirer = (auth: string | undefined): void => {
    const presented = typeof auth === 'string' && auth.startsWith('Bearer ') ? digest(auth.slice(7)) : null;
    if (presented === null || !timingSafeEqual(presented, tokenDigest)) throw new IssuerHttpError('TS_ERR_CARD_ACQUIRER', 'this host answers the card processing apparatus only: authorization: Bearer <acquirer token>');
  };

  app.post('/v1/authorizations', async (request, reply) => {
    checkAcquirer(request.headers.authorization);
    const req = parseRequest(request.body, AuthorizationRequest, 'AuthorizationRequest');
    let outcome: ReturnType<CardStore['authorize']>;
    try {
      outcome = store.authorize(req);
    } catch (err) {
      if (!(err instanceof CardError)) throw err;
      // Nothing was written: answer 96, which the sender may retry with the same id.
      request.log.error({ code: err.code, authorizationId: req.authorizationId }, 'issuer database failed; answered 96');
      return reply.code(200).type('application/json; charset=utf-8').send(malfunction(req, Date.now()));
    }
    if (outcome.kind === 'mismatch') throw new IssuerHttpError('TS_ERR_CARD_DUPLICATE_MISMATCH', 'this authorizationId was already used with different content; a new authorization needs a new id');
    request.log.info({ authorizationId: req.authorizationId, responseCode: outcome.response.responseCode, cardToken: outcome.response.cardToken, replay: outcome.replay }, 'authorization');
    return reply.code(200).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(outcome.json);
  });

  app.post('/v1/reversals', async (request, reply) => {
    checkAcquirer(request.headers.authorization);
    const req = parseRequest(request.body, ReversalRequest, 'ReversalRequest');
    let outcome: ReturnType<CardStore['reverse']>;
    try {
      outcome = store.reverse(req);
    } catch (err) {
      if (!(err instanceof CardError)) throw err;
      // Nothing was written; a reversal has no "decline" to answer with: the acquirer sends it again.
      request.log.error({ code: err.code, authorizationId: req.authorizationId }, 'issuer database failed; reversal answered 503');
      throw new IssuerHttpError('TS_ERR_UNAVAILABLE', 'the issuer database failed; nothing was reversed; send the same reversal again');
    }
    if (outcome.kind === 'mismatch') throw new IssuerHttpError('TS_ERR_CARD_DUPLICATE_MISMATCH', 'this authorizationId was already reversed with different content; the first reversal stands');
    if (outcome.kind === 'amount-mismatch') throw new IssuerHttpError('TS_ERR_CARD_REVERSAL_MISMATCH', 'the amount is not the authorization\'s: a reversal undoes the whole authorization');
    request.log.info({ authorizationId: req.authorizationId, status: outcome.response.status, cardToken: outcome.response.cardToken, replay: outcome.replay }, 'reversal');
    return reply.code(200).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(outcome.json);
  });
}

function malfunction(req: AuthorizationRequest, now: number): AuthorizationResponse {
  return { v: issuerWireVersion, authorizationId: req.authorizationId, responseCode: '96', approved: false, approvalCode: null, cardToken: null, last4: req.card.pan.slice(-4), amount: req.amount, decidedAt: now };
}
