/**
 * The technicians' dashboard on the gateway's HTTP server (issue 6, item 4):
 *
 *   GET  /dashboard                 the page (page/index.html, app.js, style.css, icon.svg)
 *   GET  /dashboard/api/snapshot    everything the page shows, as JSON
 *   GET  /dashboard/api/stream      the same, live (SSE, stream.ts)
 *   POST /dashboard/api/tap|jam|cut the buttons (actions.ts), with a StationView
 *
 * Local only: every route answers only a request from this machine that
 * names this machine in its Host header (docs/dashboard.md "Security"). Every
 * answer carries `Content-Security-Policy: default-src 'self'`.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SettlementCore } from '../../settlement-core/index.ts';
import type { GatewayBroker } from '../broker/broker.ts';
import { parseJsonBody } from '../http/schemas.ts';
import { CutBody, JamBody, StationActions, TapBody } from './actions.ts';
import type { Action } from './actions.ts';
import { DashboardError, sendDashboardError } from './errors.ts';
import { DashboardFeed } from './feed.ts';
import { resolveDashboardLimits } from './limits.ts';
import type { DashboardLimits } from './limits.ts';
import { isLocalRequest, sameOrigin } from './local-only.ts';
import { connectGatewaySources, journalLookup } from './sources.ts';
import type { StationView } from './station-view.ts';
import { DashboardStreams } from './stream.ts';

export interface DashboardDeps {
  broker: GatewayBroker;
  core: SettlementCore;
  /** A simulated station: phones and buttons. Without one the page shows devices and settlements only. */
  station?: StationView | undefined;
  limits?: Partial<DashboardLimits>;
  /** Default: the fastify instance's logger. */
  log?: { warn(obj: object, msg: string): void };
}

export interface Dashboard {
  feed: DashboardFeed;
  streams: DashboardStreams;
}

export const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const asset = (name: string): Buffer => readFileSync(new URL(`./page/${name}`, import.meta.url));

export function registerDashboard(app: FastifyInstance, deps: DashboardDeps): Dashboard {
  const limits = resolveDashboardLimits(deps.limits);
  const log = deps.log ?? app.log;
  const station = deps.station ?? null;
  const feed = new DashboardFeed({
    limits, station, lookup: journalLookup(deps.core), presence: () => deps.broker.online(),
    onError: (err, what) => log.warn({ err: err instanceof Error ? err.message : String(err), what }, 'dashboard feed'),
  });
  const streams = new DashboardStreams(feed, limits, log);
  const actions = new StationActions(station, limits, () => feed.stationChanged());
  const disconnect = connectGatewaySources(feed, { broker: deps.broker, core: deps.core, station, limits, log });
  feed.start();
  app.addHook('preClose', (done) => {
    streams.closeAll();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    disconnect();
    feed.stop();
    done();
  });

  const onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    void reply.headers(securityHeaders).header('cache-control', 'no-cache');
    if (isLocalRequest(request.socket.remoteAddress, request.headers.host)) return undefined;
    // Returning the reply ends the request here (fastify's way for an async hook).
    return sendDashboardError(reply, new DashboardError('TS_ERR_DASHBOARD_LOCAL_ONLY', 'the dashboard answers only on this machine; reach it through an SSH tunnel (docs/dashboard.md)'));
  };
  const guarded = { onRequest };

  const page = { html: asset('index.html'), js: asset('app.js'), css: asset('style.css'), icon: asset('icon.svg') };
  app.get('/dashboard', guarded, (_request, reply) => reply.type('text/html; charset=utf-8').send(page.html));
  app.get('/dashboard/app.js', guarded, (_request, reply) => reply.type('text/javascript; charset=utf-8').send(page.js));
  app.get('/dashboard/style.css', guarded, (_request, reply) => reply.type('text/css; charset=utf-8').send(page.css));
  app.get('/dashboard/icon.svg', guarded, (_request, reply) => reply.type('image/svg+xml').send(page.icon));

  app.get('/dashboard/api/snapshot', guarded, async (_request, reply) => reply.header('cache-control', 'no-store').send(await feed.snapshot()));

  app.get('/dashboard/api/stream', guarded, async (request, reply) => {
    try {
      streams.reserve();
    } catch (err) {
      return sendDashboardError(reply, err as DashboardError);
    }
    reply.hijack();
    await streams.attach(reply.raw, { ...securityHeaders });
    request.log.debug('dashboard stream open');
  });

  const action = (kind: Action['kind'], parse: (raw: unknown) => Action) =>
    app.post(`/dashboard/api/${kind}`, guarded, async (request, reply) => {
      try {
        if (!sameOrigin(request.headers.origin, request.headers.host)) throw new DashboardError('TS_ERR_DASHBOARD_ORIGIN', 'the request came from another page');
        const message = await actions.run(parse(request.body));
        return await reply.header('cache-control', 'no-store').send({ ok: true, message });
      } catch (err) {
        if (err instanceof DashboardError) return sendDashboardError(reply, err);
        throw err;
      }
    });
  action('tap', (raw) => ({ kind: 'tap', body: parseJsonBody(raw, TapBody) }));
  action('jam', (raw) => ({ kind: 'jam', body: parseJsonBody(raw, JamBody) }));
  action('cut', (raw) => ({ kind: 'cut', body: parseJsonBody(raw, CutBody) }));
  return { feed, streams };
}
