/**
 * The host's local HTTP endpoint (issue 5): `GET /healthz` (200 when the
 * host is healthy, 503 with the reasons when not) and `GET /metrics`
 * (Prometheus). Plain node:http: two routes do not earn a framework on a Pi.
 * Binds 127.0.0.1 by default; nothing here changes state.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  healthy: boolean;
  [key: string]: unknown;
}

export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Connections a local health endpoint serves at once: a scraper and a technician. */
export const healthConnectionsMax = 16;

export async function startHealthServer(options: { host: string; port: number; health: () => HealthReport; registry: Registry }): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405, { 'content-type': 'application/json', allow: 'GET' }).end(JSON.stringify({ error: { code: 'TS_ERR_METHOD', message: 'only GET' } }));
      return;
    }
    if (path === '/healthz') {
      const report = options.health();
      response.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(report));
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'TS_ERR_METRICS', message: 'metrics collection failed' } })),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'TS_ERR_NOT_FOUND', message: 'GET /healthz or /metrics' } }));
  });
  server.maxConnections = healthConnectionsMax;
  server.requestTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
