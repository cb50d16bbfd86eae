/**
 * The wallet API's own inputs (params, query strings, small bodies), as
 * strict zod schemas built from protocol's ids. A SettleRequest body is
 * checked by protocol's own decoder (decodeMessage), not here.
 */
import { z } from 'zod';
import { DeviceId, UuidV7, WalletId, limits } from '../../protocol/index.ts';
import { HttpError } from './errors.ts';
import type { HttpErrorCode } from './errors.ts';

/** Lines per statement page: enough for a phone's screen, small enough that one request is cheap. */
export const statementLinesMax = 200;
export const statementLinesDefault = 50;

/** A decimal integer in a query string: digits only, no sign, no leading zeros, no exponent. */
const decimal = (max: number) => z.string().max(16).regex(/^(0|[1-9]\d*)$/, 'expected a decimal integer').transform(Number).pipe(z.number().int().min(0).max(max));

export const WalletParams = z.strictObject({ walletId: WalletId });
export const ResultParams = z.strictObject({ walletId: WalletId, requestId: UuidV7 });

export const StatementQuery = z.strictObject({
  from: decimal(limits.epochMsMax).optional(),
  to: decimal(limits.epochMsMax).optional(),
  before: decimal(Number.MAX_SAFE_INTEGER).optional(),
  limit: decimal(statementLinesMax).pipe(z.number().min(1)).optional(),
});

/** Tickets per answer (claims 15–16): a phone re-fetches the ones it missed; 100 covers a commuter's month of single rides. */
export const walletTicketsMax = 100;
export const walletTicketsDefault = 20;

export const TicketsQuery = z.strictObject({
  limit: decimal(walletTicketsMax).pipe(z.number().min(1)).optional(),
});

export const ResultQuery = z.strictObject({ deviceId: DeviceId.optional() });
export const EmptyQuery = z.strictObject({});

/** An enrollment code as an operator reads it out: letters, digits, dashes, spaces; normalised by EnrollmentCodes. */
export const EnrollmentBody = z.strictObject({ code: z.string().min(1).max(64).regex(/^[A-Za-z0-9 -]+$/, 'expected the enrollment code as printed') });

export const CancelBody = z.strictObject({ deviceId: DeviceId, requestId: UuidV7 });

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, code: HttpErrorCode): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new HttpError(code, `${where}${issue?.message ?? 'invalid'}`.slice(0, 300));
}

/** A JSON object body from the raw bytes the content-type parser kept. */
export function parseJsonBody<S extends z.ZodType>(raw: unknown, schema: S): z.output<S> {
  if (!Buffer.isBuffer(raw)) throw new HttpError('TS_ERR_MALFORMED_JSON', 'expected a JSON body with content-type application/json');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError('TS_ERR_MALFORMED_JSON', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError('TS_ERR_MALFORMED_JSON', 'the body must be one JSON object');
  return parseWith(schema, value, 'TS_ERR_INVALID_BODY');
}
