/**
 * The wallet API for phones (issue 3, item 4; docs/gateway.md "Wallet API"):
 * enrollment with an operator's code, the statement (claims 5–7), the
 * tickets the core minted for the wallet (claims 15–16), the phone
 * sending the settling information itself (claim 9), cancel within the
 * cooling-off period (claim 13) and its results (claim 12; the stream is in
 * result-stream.ts).
 *
 * Every input is parsed by a strict schema before it is used; every route
 * that reads or changes a wallet's data checks the wallet's proof first
 * (wallet-proof.ts), and the core consumes its counter before anything is read.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import { decodeMessage } from '../../protocol/index.ts';
import type { SettleRequest, SettleResult } from '../../protocol/index.ts';
import { CoreError } from '../../settlement-core/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { emoneyRoutes } from './emoney-routes.ts';
import type { EnrollmentCodes } from './enrollment-codes.ts';
import { HttpError } from './errors.ts';
import type { HttpErrorCode } from './errors.ts';
import { resultConcernsWallet } from './result-hub.ts';
import type { ResultHub, ResultSink } from './result-hub.ts';
import { CancelBody, EmptyQuery, EnrollmentBody, ResultParams, ResultQuery, StatementQuery, TicketsQuery, WalletParams, parseJsonBody, parseWith, statementLinesDefault, walletTicketsDefault } from './schemas.ts';
import { authenticate, queryParams } from './wallet-proof.ts';

export interface WalletApiDeps {
  core: SettlementCore;
  hub: ResultHub;
  sink: ResultSink;
  codes: EnrollmentCodes;
  metrics: GatewayMetrics;
}

const json = (reply: FastifyReply, status: number, body: string | object): FastifyReply =>
  // Wallet answers carry keys and balances: no cache may keep them.
  reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);

/** Passing failures give the enrollment code back; any other failure uses it up. */
const transientCore = new Set(['TS_ERR_OVERLOADED', 'TS_ERR_CLOSED', 'TS_ERR_STORE']);

const redemptionErrors = {
  unknown: ['TS_ERR_CODE_UNKNOWN', 'no such enrollment code'],
  used: ['TS_ERR_CODE_USED', 'this enrollment code was already used; ask the operator for a new one'],
  expired: ['TS_ERR_CODE_EXPIRED', 'this enrollment code has expired; ask the operator for a new one'],
} as const satisfies Record<string, readonly [HttpErrorCode, string]>;

export function walletRoutes(app: FastifyInstance, deps: WalletApiDeps): void {
  enrollmentRoute(app, deps);
  statementRoute(app, deps);
  ticketsRoute(app, deps);
  settleRoute(app, deps);
  cancelRoute(app, deps);
  resultRoute(app, deps);
  emoneyRoutes(app, deps);
}

function enrollmentRoute(app: FastifyInstance, { core, codes }: WalletApiDeps): void {
  app.post('/v1/enrollments', async (request, reply) => {
    parseWith(EmptyQuery, queryParams(request.url), 'TS_ERR_INVALID_QUERY');
    const { code } = parseJsonBody(request.body, EnrollmentBody);
    const redeemed = codes.redeem(code);
    if (!redeemed.ok) {
      const [errorCode, message] = redemptionErrors[redeemed.reason];
      throw new HttpError(errorCode, message);
    }
    let enrolled: Awaited<ReturnType<SettlementCore['enrollWallet']>>;
    try {
      enrolled = await core.enrollWallet(redeemed.account);
    } catch (err) {
      if (err instanceof CoreError && transientCore.has(err.code)) codes.release(code);
      throw err;
    }
    codes.confirm(code, enrolled.wallet.id);
    return json(reply, 201, { walletId: enrolled.wallet.id, walletKey: enrolled.walletKey.toString('base64'), account: enrolled.wallet.account });
  });
}

/** Claims 5–7: the wallet's own account lines, after its proof. */
function statementRoute(app: FastifyInstance, { core }: WalletApiDeps): void {
  app.get('/v1/wallets/:walletId/statement', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    const q = parseWith(StatementQuery, params, 'TS_ERR_INVALID_QUERY');
    const wallet = await authenticate(core, request.headers, { walletId, method: 'GET', path: `/v1/wallets/${walletId}/statement`, params, body: null });
    const limit = q.limit ?? statementLinesDefault;
    const lines = await core.store.statement(wallet.account, {
      limit,
      ...(q.from !== undefined ? { fromMs: q.from } : {}),
      ...(q.to !== undefined ? { toMs: q.to } : {}),
      ...(q.before !== undefined ? { beforeTransferId: q.before } : {}),
    });
    const nextBefore = lines.length === limit ? (lines.at(-1)?.transferId ?? null) : null;
    return json(reply, 200, { walletId: wallet.id, account: wallet.account, lines, nextBefore });
  });
}

/** Claims 15–16: the tickets minted for this wallet, newest first, after its proof (the phone may have left the kiosk before the ticket was written). */
function ticketsRoute(app: FastifyInstance, { core }: WalletApiDeps): void {
  app.get('/v1/wallets/:walletId/tickets', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    const q = parseWith(TicketsQuery, params, 'TS_ERR_INVALID_QUERY');
    const wallet = await authenticate(core, request.headers, { walletId, method: 'GET', path: `/v1/wallets/${walletId}/tickets`, params, body: null });
    const tickets = await core.store.walletTickets(wallet.id, q.limit ?? walletTicketsDefault);
    return json(reply, 200, { walletId: wallet.id, tickets });
  });
}

/** Claim 9: the phone sends the authenticated settling information; the result goes to the device and back to the phone. */
function settleRoute(app: FastifyInstance, { core, sink, metrics }: WalletApiDeps): void {
  app.post('/v1/settle', async (request, reply) => {
    parseWith(EmptyQuery, queryParams(request.url), 'TS_ERR_INVALID_QUERY');
    const started = performance.now();
    const raw = request.body;
    if (!Buffer.isBuffer(raw)) throw new HttpError('TS_ERR_MALFORMED_JSON', 'expected a SettleRequest with content-type application/json');
    const decoded = decodeMessage('settle', raw);
    if (!decoded.ok) {
      metrics.observeSettle('unreadable', decoded.reason, (performance.now() - started) / 1000);
      const code: HttpErrorCode = decoded.reason === 'malformed-json' ? 'TS_ERR_MALFORMED_JSON' : decoded.reason === 'payload-too-large' ? 'TS_ERR_BODY_TOO_LARGE' : 'TS_ERR_INVALID_BODY';
      throw new HttpError(code, `${decoded.reason}: ${decoded.message}`.slice(0, 300));
    }
    const answer = await core.settle(decoded.value.deviceId, raw);
    const seconds = (performance.now() - started) / 1000;
    if (answer.kind === 'unreadable') {
      metrics.observeSettle('unreadable', answer.reason, seconds);
      throw new HttpError('TS_ERR_INVALID_BODY', `${answer.reason}: ${answer.message}`.slice(0, 300));
    }
    metrics.observeSettle(answer.result.status, answer.result.reason, seconds);
    deliver(sink, request.log, decoded.value, answer.result, answer.json);
    return json(reply, 200, answer.json);
  });
}

/** Claim 13: the paying wallet cancels a cooling-off purchase before its period ends. */
function cancelRoute(app: FastifyInstance, { core }: WalletApiDeps): void {
  app.post('/v1/wallets/:walletId/cancel', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    parseWith(EmptyQuery, params, 'TS_ERR_INVALID_QUERY');
    const key = parseJsonBody(request.body, CancelBody);
    const wallet = await authenticate(core, request.headers, { walletId, method: 'POST', path: `/v1/wallets/${walletId}/cancel`, params, body: request.body as Buffer });
    const { status } = await core.cancel(key, wallet.id);
    return json(reply, 200, { ...key, status });
  });
}

/** Claim 12, fetched: one result of this wallet's, from the recent ones or (given the device id) the journal. */
function resultRoute(app: FastifyInstance, { core, hub }: WalletApiDeps): void {
  app.get('/v1/wallets/:walletId/results/:requestId', async (request, reply) => {
    const { walletId, requestId } = parseWith(ResultParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    const q = parseWith(ResultQuery, params, 'TS_ERR_INVALID_QUERY');
    const wallet = await authenticate(core, request.headers, { walletId, method: 'GET', path: `/v1/wallets/${walletId}/results/${requestId}`, params, body: null });
    let found = hub.recent(wallet.id, requestId);
    if (found === undefined && q.deviceId !== undefined) {
      const entry = await core.store.getJournalEntry({ deviceId: q.deviceId, requestId });
      // `counter` is set only once the wallet's cryptogram verified: a forged request naming this wallet is not its result.
      if (entry !== null && entry.walletId === wallet.id && entry.counter !== null && entry.resultJson !== '') found = entry.resultJson;
    }
    if (found === undefined) throw new HttpError('TS_ERR_UNKNOWN_REQUEST', `no result ${requestId} for this wallet${q.deviceId === undefined ? ' among the recent ones; add ?deviceId= to look in the journal' : ''}`);
    return json(reply, 200, found);
  });
}

/** Claim 9: the result goes to the purchase device (over MQTT, by the sink) and, claim 12, to the wallet's streams. */
function deliver(sink: ResultSink, log: FastifyBaseLogger, req: SettleRequest, result: SettleResult, resultJson: string): void {
  if (result.reason !== 'unknown-device') {
    // The phone has its answer whatever happens here: a sink that throws or rejects is logged, never answered as an error.
    Promise.resolve()
      .then(() => sink.deliverToDevice(req.deviceId, resultJson))
      .catch((err: unknown) => log.warn({ err, deviceId: req.deviceId, requestId: req.requestId }, 'could not deliver a claim-9 result to its device'));
  }
  if (!resultConcernsWallet(result)) return;
  try {
    sink.deliverToWallet(req.wallet.walletId, resultJson);
  } catch (err) {
    log.warn({ err, walletId: req.wallet.walletId, requestId: req.requestId }, 'could not deliver a result to the wallet\'s streams');
  }
}
