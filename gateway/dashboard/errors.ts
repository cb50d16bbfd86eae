/**
 * The dashboard's own refusals, answered as every gateway error is:
 * `{ "error": { "code": "TS_ERR_…", "message": "…" } }`. Bad JSON and bodies
 * that fail their schema use the HTTP layer's codes (TS_ERR_MALFORMED_JSON,
 * TS_ERR_INVALID_BODY). Never a stack trace: docs/dashboard.md lists them.
 */
import type { FastifyReply } from 'fastify';
import { errorBody } from '../http/errors.ts';

export const dashboardErrors = {
  /** The request did not come from this machine (remote address or Host header): see docs/dashboard.md "Security". */
  TS_ERR_DASHBOARD_LOCAL_ONLY: 403,
  /** A POST whose Origin is not the dashboard's own. */
  TS_ERR_DASHBOARD_ORIGIN: 403,
  /** No simulated station is attached: the buttons do nothing. */
  TS_ERR_DASHBOARD_NO_STATION: 404,
  TS_ERR_DASHBOARD_UNKNOWN_PHONE: 404,
  TS_ERR_DASHBOARD_UNKNOWN_DEVICE: 404,
  /** The station tried and could not (a cut-off device, a slot that does not exist, a phone the reader could not read). */
  TS_ERR_DASHBOARD_ACTION_FAILED: 409,
  TS_ERR_DASHBOARD_TOO_MANY_STREAMS: 429,
  TS_ERR_DASHBOARD_BUSY: 429,
  TS_ERR_DASHBOARD_ACTION_TIMEOUT: 504,
} as const;
export type DashboardErrorCode = keyof typeof dashboardErrors;

export class DashboardError extends Error {
  readonly status: number;
  constructor(readonly code: DashboardErrorCode, message: string) {
    super(message);
    this.name = 'DashboardError';
    this.status = dashboardErrors[code];
  }
}

export function sendDashboardError(reply: FastifyReply, err: DashboardError): FastifyReply {
  if (err.status === 429) void reply.header('retry-after', '1');
  return reply.code(err.status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(errorBody(err.code, err.message));
}
