/**
 * Every HTTP error is `{ "error": { "code": "TS_ERR_…", "message": "…" } }`
 * with a status that says whose fault it is. Never a stack trace: a
 * programmer error is logged here and answered as TS_ERR_INTERNAL.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CoreError, InvariantError } from '../../settlement-core/index.ts';
import type { CoreErrorCode } from '../../settlement-core/index.ts';

/** The codes this API answers with and their HTTP status (docs/gateway.md lists them with what to do). */
export const httpErrors = {
  TS_ERR_MALFORMED_JSON: 400,
  TS_ERR_INVALID_BODY: 400,
  TS_ERR_INVALID_PARAMS: 400,
  TS_ERR_INVALID_QUERY: 400,
  TS_ERR_PROOF_MISSING: 401,
  TS_ERR_BAD_PROOF: 401,
  TS_ERR_COUNTER_REUSED: 401,
  TS_ERR_ADMIN_TOKEN: 401,
  TS_ERR_WALLET_NOT_ACTIVE: 403,
  TS_ERR_CODE_UNKNOWN: 403,
  TS_ERR_NOT_FOUND: 404,
  TS_ERR_UNKNOWN_REQUEST: 404,
  TS_ERR_UNKNOWN_ACCOUNT: 404,
  TS_ERR_CODE_USED: 409,
  TS_ERR_NOT_CANCELLABLE: 409,
  TS_ERR_CODE_EXPIRED: 410,
  TS_ERR_BODY_TOO_LARGE: 413,
  TS_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  TS_ERR_TOO_MANY_STREAMS: 429,
  TS_ERR_INTERNAL: 500,
  TS_ERR_OVERLOADED: 503,
  TS_ERR_UNAVAILABLE: 503,
} as const;
export type HttpErrorCode = keyof typeof httpErrors;

export class HttpError extends Error {
  readonly status: number;
  constructor(readonly code: HttpErrorCode, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = httpErrors[code];
  }
}

export const errorBody = (code: string, message: string): { error: { code: string; message: string } } => ({ error: { code, message } });

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  if (err.code === 'TS_ERR_OVERLOADED') void reply.header('retry-after', '1');
  return reply.code(err.status).type('application/json; charset=utf-8').send(errorBody(err.code, err.message));
}

/** Core operating errors as the API reports them; anything else is the server's fault. */
const coreToHttp: Partial<Record<CoreErrorCode, HttpErrorCode>> = {
  TS_ERR_UNKNOWN_REQUEST: 'TS_ERR_UNKNOWN_REQUEST',
  TS_ERR_NOT_CANCELLABLE: 'TS_ERR_NOT_CANCELLABLE',
  TS_ERR_UNKNOWN_ACCOUNT: 'TS_ERR_UNKNOWN_ACCOUNT',
  TS_ERR_OVERLOADED: 'TS_ERR_OVERLOADED',
  TS_ERR_CLOSED: 'TS_ERR_UNAVAILABLE',
  TS_ERR_STORE: 'TS_ERR_UNAVAILABLE',
};

/** Fastify's own refusals (body parsing, routing) mapped to ours. */
const fastifyToHttp: Record<string, HttpErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TS_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TS_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TS_ERR_INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TS_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'TS_ERR_MALFORMED_JSON',
  FST_ERR_BAD_URL: 'TS_ERR_INVALID_PARAMS',
  FST_ERR_NOT_FOUND: 'TS_ERR_NOT_FOUND',
};

export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof CoreError) {
    const code = coreToHttp[err.code];
    return code === undefined ? null : new HttpError(code, err.message);
  }
  if (err instanceof InvariantError) return null;
  const fe = err as Partial<FastifyError>;
  const mapped = typeof fe.code === 'string' ? fastifyToHttp[fe.code] : undefined;
  if (mapped !== undefined) return new HttpError(mapped, typeof fe.message === 'string' ? fe.message : mapped);
  // Any other client error from fastify or node (aborted body, bad header): a 400 with a code, not a 500.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new HttpError('TS_ERR_INVALID_BODY', typeof fe.message === 'string' ? fe.message : 'bad request');
  return null;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = toHttpError(err);
    if (known !== null) return sendError(reply, known);
    request.log.error({ err }, 'unexpected error in an HTTP handler');
    return sendError(reply, new HttpError('TS_ERR_INTERNAL', 'internal error; see the gateway log'));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    sendError(reply, new HttpError('TS_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`.slice(0, 200))));
}
