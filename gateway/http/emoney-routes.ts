/**
 * E-money on the wallet API (claims 34–35; docs/ledger.md "E-money"). Every
 * route carries the wallet's request proof (wallet-proof.ts: it covers the
 * exact body bytes; the core consumes the counter first), and every input is
 * parsed by a strict schema before the proof is checked.
 *
 *   POST /v1/wallets/{walletId}/emoney/issue    { requestId, amount: { minor, currency }, recipient }
 *   GET  /v1/wallets/{walletId}/emoney/inbox    ?after={serial}&limit={1..32}
 *   POST /v1/wallets/{walletId}/emoney/deposit  { requestId, tokens: [EmoneyToken, …1..32] }
 *
 *   200  the decision ({status: issued|declined} or {status: deposited|refused}, with a reason code),
 *        new or replayed byte for byte; or the inbox page { walletId, tokens, nextAfter }
 *   400  TS_ERR_MALFORMED_JSON / TS_ERR_INVALID_BODY / TS_ERR_INVALID_PARAMS / TS_ERR_INVALID_QUERY
 *   401  TS_ERR_PROOF_MISSING / TS_ERR_BAD_PROOF / TS_ERR_COUNTER_REUSED;  403 TS_ERR_WALLET_NOT_ACTIVE
 *   409  TS_ERR_EMONEY_DUPLICATE_MISMATCH: the requestId was used with other content (or by another wallet)
 *   413  TS_ERR_BODY_TOO_LARGE;  501 TS_ERR_EMONEY_UNSUPPORTED: this ledger's store keeps no e-money (none of ours: SQLite, PostgreSQL, sharded all do)
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { UuidV7 } from '../../protocol/index.ts';
import { EmoneyDepositBody, EmoneyError, EmoneyIssueBody, emoneyLimits } from '../../settlement-core/emoney/index.ts';
import type { EmoneyReply } from '../../settlement-core/emoney/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { errorBody } from './errors.ts';
import { EmptyQuery, WalletParams, parseJsonBody, parseWith } from './schemas.ts';
import { authenticate, queryParams } from './wallet-proof.ts';

export const emoneyRouteErrors = {
  TS_ERR_EMONEY_DUPLICATE_MISMATCH: 409,
  TS_ERR_EMONEY_UNSUPPORTED: 501,
} as const;

const decimal = (max: number) => z.string().max(4).regex(/^[1-9]\d*$/, 'expected a decimal integer').transform(Number).pipe(z.number().int().min(1).max(max));
export const EmoneyInboxQuery = z.strictObject({ after: UuidV7.optional(), limit: decimal(emoneyLimits.inboxTokensMax).optional() });

const send = (reply: FastifyReply, status: number, body: string | object): FastifyReply =>
  reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);

const sendError = (reply: FastifyReply, code: keyof typeof emoneyRouteErrors, message: string): FastifyReply =>
  send(reply, emoneyRouteErrors[code], errorBody(code, message));

/** A store's refusal (a LedgerStore that keeps no e-money) as its coded answer; anything else to the API's error handler. */
async function guarded(reply: FastifyReply, run: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof EmoneyError) return sendError(reply, err.code, err.message);
    throw err;
  }
}

function answer<A>(reply: FastifyReply, r: EmoneyReply<A>): FastifyReply {
  if (r.kind === 'mismatch') return sendError(reply, 'TS_ERR_EMONEY_DUPLICATE_MISMATCH', 'this requestId was already used with different content; a new request needs a new id');
  return send(reply, 200, r.json);
}

export function emoneyRoutes(app: FastifyInstance, { core }: { core: SettlementCore }): void {
  app.post('/v1/wallets/:walletId/emoney/issue', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    parseWith(EmptyQuery, params, 'TS_ERR_INVALID_QUERY');
    const body = parseJsonBody(request.body, EmoneyIssueBody);
    const wallet = await authenticate(core, request.headers, { walletId, method: 'POST', path: `/v1/wallets/${walletId}/emoney/issue`, params, body: request.body as Buffer });
    return guarded(reply, async () => answer(reply, await core.issueEmoney(wallet, body)));
  });

  app.get('/v1/wallets/:walletId/emoney/inbox', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    const q = parseWith(EmoneyInboxQuery, params, 'TS_ERR_INVALID_QUERY');
    const wallet = await authenticate(core, request.headers, { walletId, method: 'GET', path: `/v1/wallets/${walletId}/emoney/inbox`, params, body: null });
    return guarded(reply, async () => {
      const limit = q.limit ?? emoneyLimits.inboxTokensMax;
      const tokens = await core.store.emoneyInbox(wallet.id, { limit, ...(q.after !== undefined ? { afterSerial: q.after } : {}) });
      return send(reply, 200, { walletId: wallet.id, tokens, nextAfter: tokens.length === limit ? tokens.at(-1)!.serial : null });
    });
  });

  // A deposit may carry the whole purse (32 tokens): its own body limit, above the API's 4 KiB message limit.
  app.post('/v1/wallets/:walletId/emoney/deposit', { bodyLimit: emoneyLimits.depositBodyBytesMax }, async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    parseWith(EmptyQuery, params, 'TS_ERR_INVALID_QUERY');
    const body = parseJsonBody(request.body, EmoneyDepositBody);
    const wallet = await authenticate(core, request.headers, { walletId, method: 'POST', path: `/v1/wallets/${walletId}/emoney/deposit`, params, body: request.body as Buffer });
    return guarded(reply, async () => answer(reply, await core.depositEmoney(wallet, body)));
  });
}
