/**
 * One fastify instance carrying the wallet API (phones) and admin HTTP
 * (operators, Prometheus, load balancers); HTTPS when key and cert are given.
 * Every limit is named in HttpLimits and checked at start.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { limits as wireLimits } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { adminRoutes } from './admin.ts';
import type { DevicePresence } from './admin.ts';
import type { EnrollmentCodes } from './enrollment-codes.ts';
import { installErrorHandling } from './errors.ts';
import type { ResultHub, ResultSink } from './result-hub.ts';
import { resultStreamRoute } from './result-stream.ts';
import { walletRoutes } from './wallet-api.ts';

export interface HttpLimits {
  /** Largest request body: the largest is a SettleRequest (protocol's 4 KiB message limit). */
  bodyLimitBytes: number;
  /** The whole request (headers and body) must arrive within this; stops slow-drip (slowloris) clients. */
  requestTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed; SSE heartbeats keep live streams under it. */
  idleTimeoutMs: number;
  /** How long an idle keep-alive connection waits for the next request. */
  keepAliveTimeoutMs: number;
  /** Comment line on every result stream this often: under idleTimeoutMs and the usual 30–60 s proxy timeouts. */
  heartbeatMs: number;
  /** Bytes waiting for a result-stream reader before the gateway closes the stream (~60 results). */
  streamBufferBytesMax: number;
  /** How long /readyz waits for the store. */
  readyTimeoutMs: number;
  /** At close, requests in flight get this long to finish; then every connection still open is cut. */
  shutdownGraceMs: number;
}

export const defaultHttpLimits: HttpLimits = {
  bodyLimitBytes: wireLimits.messageBytesMax,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  heartbeatMs: 15_000,
  streamBufferBytesMax: 64 * 1024,
  readyTimeoutMs: 2_000,
  shutdownGraceMs: 3_000,
};

export interface HttpOptions {
  core: SettlementCore;
  hub: ResultHub;
  sink: ResultSink;
  codes: EnrollmentCodes;
  metrics: GatewayMetrics;
  /** Live device presence, from the broker. */
  online: () => ReadonlyMap<string, DevicePresence>;
  /** 0 picks a free port (tests). */
  port: number;
  host: string;
  /** PEM key and certificate: serve HTTPS. Phones reach the wallet API over HTTPS in production. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  limits?: Partial<HttpLimits>;
  /** When set, /metrics and /v1/devices need `authorization: Bearer <adminToken>`. */
  adminToken?: string;
  /** A pino logger; default: no request logging. */
  logger?: FastifyBaseLogger;
  /** More routes on the same instance (a dashboard), registered before listening. */
  routes?: (app: FastifyInstance) => void;
}

export interface HttpServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

function checkLimits(l: HttpLimits): void {
  for (const [name, value] of Object.entries(l)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`HTTP limit ${name} must be an integer ≥ 1, got ${String(value)}`);
  }
  if (l.heartbeatMs >= l.idleTimeoutMs) throw new RangeError(`heartbeatMs (${l.heartbeatMs}) must be below idleTimeoutMs (${l.idleTimeoutMs}), or idle result streams are cut`);
}

export async function startHttp(options: HttpOptions): Promise<HttpServer> {
  const limits: HttpLimits = { ...defaultHttpLimits, ...options.limits };
  checkLimits(limits);
  if (!Number.isSafeInteger(options.port) || options.port < 0 || options.port > 65535) throw new RangeError(`port must be 0..65535, got ${options.port}`);
  if (options.adminToken !== undefined && options.adminToken.length < 16) throw new RangeError('adminToken must be at least 16 characters');
  const tls = options.tls;
  const app = Fastify({
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    return503OnClosing: true,
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
      tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler),
  });
  // Bodies stay raw bytes: a wallet proof covers the exact bytes sent, and each route parses with its own schema.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  installErrorHandling(app);

  const { core, hub, metrics } = options;
  metrics.watchCore(core);
  metrics.watchStreams(() => hub.streams);
  walletRoutes(app, { core, hub, sink: options.sink, codes: options.codes, metrics });
  const streams = resultStreamRoute(app, { core, hub, limits });
  app.addHook('preClose', (done) => {
    streams.closeAll();
    done();
  });
  adminRoutes(app, { core, metrics, online: options.online, readyTimeoutMs: limits.readyTimeoutMs, ...(options.adminToken !== undefined ? { adminToken: options.adminToken } : {}) });
  options.routes?.(app);

  await app.listen({ port: options.port, host: options.host });
  const port = (app.server.address() as AddressInfo).port;
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `${tls ? 'https' : 'http'}://${hostInUrl}:${port}`,
    close: async () => {
      const closing = app.close();
      // A socket that never sent a request is not "idle" to node and would hold the close until the client drops it.
      const cut = setTimeout(() => app.server.closeAllConnections(), limits.shutdownGraceMs);
      try {
        await closing;
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
