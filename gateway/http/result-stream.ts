/**
 * Claim 12 as a stream: `GET /v1/wallets/{w}/results` is a Server-Sent Events
 * stream of the results of that wallet's settlements. The proof is checked
 * once, when the stream opens. Each event is
 *
 *   id: {requestId}\nevent: result\ndata: {SettleResult JSON}\n\n
 *
 * with a comment line every `heartbeatMs` so proxies and the phone can tell a
 * quiet stream from a dead one. A reconnect with `Last-Event-ID` first gets
 * the recent results after that id. A phone that does not read is cut off
 * once `streamBufferBytesMax` is waiting for it (it reconnects and fetches
 * what it missed) — the gateway never buffers without bound for a slow reader.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { UuidV7 } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { HttpError } from './errors.ts';
import type { ResultHub } from './result-hub.ts';
import { EmptyQuery, WalletParams, parseWith } from './schemas.ts';
import { authenticate, queryParams } from './wallet-proof.ts';

export interface ResultStreamLimits {
  heartbeatMs: number;
  streamBufferBytesMax: number;
}

/** What the phone waits before reconnecting, ms (the SSE `retry:` field). */
const reconnectDelayMs = 3000;

const event = (requestId: string, json: string): string => `id: ${requestId}\nevent: result\ndata: ${json.replace(/\r?\n/g, '\ndata: ')}\n\n`;

/** Registers the stream route; returns closeAll, which ends every open stream (for a clean shutdown). */
export function resultStreamRoute(app: FastifyInstance, deps: { core: SettlementCore; hub: ResultHub; limits: ResultStreamLimits }): { closeAll: () => void } {
  const open = new Set<ServerResponse>();

  app.get('/v1/wallets/:walletId/results', async (request, reply) => {
    const { walletId } = parseWith(WalletParams, request.params, 'TS_ERR_INVALID_PARAMS');
    const params = queryParams(request.url);
    parseWith(EmptyQuery, params, 'TS_ERR_INVALID_QUERY');
    const wallet = await authenticate(deps.core, request.headers, { walletId, method: 'GET', path: `/v1/wallets/${walletId}/results`, params, body: null });
    const res = reply.raw;
    const write = (chunk: string): void => {
      if (res.writableEnded || res.destroyed) return;
      if (res.writableLength > deps.limits.streamBufferBytesMax) {
        request.log.warn({ walletId }, 'result stream not read; closing it');
        res.end();
        return;
      }
      res.write(chunk);
    };
    const subscription = deps.hub.subscribe(wallet.id, (json, requestId) => write(event(requestId, json)));
    if (!subscription.ok) throw new HttpError('TS_ERR_TOO_MANY_STREAMS', `too many open result streams (${subscription.limit}); close one and retry`);
    reply.hijack();
    // `connection: close`: when the stream ends, so does its socket, rather than idling as keep-alive through a shutdown.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'close', 'x-accel-buffering': 'no' });
    open.add(res);
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), deps.limits.heartbeatMs);
    // A write to a socket the phone dropped errors here; 'close' follows and cleans up. Unhandled, it would end the process.
    res.on('error', (err) => request.log.debug({ err, walletId }, 'result stream write failed'));
    res.on('close', () => {
      clearInterval(heartbeat);
      subscription.unsubscribe();
      open.delete(res);
    });
    write(`retry: ${reconnectDelayMs}\n: stream open\n\n`);
    const lastId = request.headers['last-event-id'];
    if (typeof lastId === 'string' && UuidV7.safeParse(lastId).success) {
      for (const r of deps.hub.recentAfter(wallet.id, lastId)) write(event(r.requestId, r.json));
    }
  });

  return {
    closeAll: () => {
      for (const res of open) res.end();
      open.clear();
    },
  };
}
