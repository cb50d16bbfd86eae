/**
 * Admin HTTP (issue 3, item 5): liveness, readiness, Prometheus metrics and
 * the device list with who is online and each device's seq record (issue 5). `/healthz` and `/readyz` are open (a
 * load balancer calls them); `/metrics` and `/v1/devices` need the admin
 * token when one is configured, because the wallet API may share the port
 * with the internet.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SettlementCore } from '../../settlement-core/index.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { HttpError } from './errors.ts';

export interface DevicePresence {
  /** As the device last said on its state topic (online, offline, out-of-service), or as the broker saw it. */
  status: string;
  since: number;
}

export interface AdminDeps {
  core: SettlementCore;
  metrics: GatewayMetrics;
  /** Live presence per device id, from the broker's view of the state topics. */
  online: () => ReadonlyMap<string, DevicePresence>;
  /** When set, /metrics and /v1/devices need `authorization: Bearer <token>`. */
  adminToken?: string;
  /** How long /readyz waits for the store, ms. */
  readyTimeoutMs: number;
}

/** The admin token as checkToken compares it. */
export const tokenDigest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Refuses a request without `authorization: Bearer <admin token>` (TS_ERR_ADMIN_TOKEN); `expected` null: no token configured, open. */
export function checkToken(expected: Buffer | null, request: FastifyRequest): void {
  if (expected === null) return;
  const header = request.headers.authorization;
  const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  // Compare digests: equal lengths, constant time, whatever was sent.
  if (!timingSafeEqual(tokenDigest(given), expected)) throw new HttpError('TS_ERR_ADMIN_TOKEN', 'this route needs the admin token: authorization: Bearer <token>');
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function adminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { core, metrics } = deps;
  const expected = deps.adminToken === undefined ? null : tokenDigest(deps.adminToken);

  app.get('/healthz', (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    let store = 'ok';
    try {
      // A point read on the store's reader: answers only while the core's store is open and the file readable.
      await withTimeout(core.store.getAccount('000-0000002'), deps.readyTimeoutMs);
    } catch (err) {
      store = err instanceof Error ? err.message : String(err);
    }
    const queueDepth = core.queueDepth;
    const queueFull = queueDepth >= core.limits.queueLengthMax;
    const ready = store === 'ok' && !queueFull;
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'not-ready', checks: { store, queueDepth, queueLengthMax: core.limits.queueLengthMax } });
  });

  app.get('/metrics', async (request, reply) => {
    checkToken(expected, request);
    const text = await metrics.text();
    return reply.header('cache-control', 'no-store').type(metrics.contentType).send(text);
  });

  app.get('/v1/devices', async (request, reply) => {
    checkToken(expected, request);
    const presence = deps.online();
    const registered = await core.store.listDevices();
    const known = new Set(registered.map((d) => d.id));
    const devices = [
      ...registered.map((d) => {
        const p = presence.get(d.id);
        return { id: d.id, kind: d.kind, merchant: d.merchant, status: d.status, registered: true, presence: p?.status ?? 'offline', since: p?.since ?? null, seq: metrics.deviceSequence(d.id) ?? null };
      }),
      ...[...presence].filter(([id]) => !known.has(id)).map(([id, p]) => ({ id, registered: false, presence: p.status, since: p.since, seq: metrics.deviceSequence(id) ?? null })),
    ];
    return reply.header('cache-control', 'no-store').send({ devices, online: devices.filter((d) => d.presence === 'online').length });
  });
}
