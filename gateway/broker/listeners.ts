/**
 * The broker's three doors: MQTT over TCP, over TLS (node:tls), and over
 * WebSocket (path /mqtt, for browsers and phones). Each raw TCP connection
 * is first offered to `admit` (connect rate, connection count) — before a TLS
 * handshake or an HTTP upgrade costs anything — and the MQTT byte stream is
 * then handed to `attach`.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { BrokerError } from './errors.ts';

export interface TcpListenerOptions {
  /** 0 = any free port (tests); 1883 is the usual production port. */
  port: number;
  host?: string;
}

export interface TlsListenerOptions extends TcpListenerOptions {
  /** PEM contents (not file names): private key and certificate chain. */
  key: string | Buffer;
  cert: string | Buffer;
}

export interface WsListenerOptions extends TcpListenerOptions {
  /** Default `/mqtt`. */
  path?: string;
}

export interface ListenerSpec {
  tcp?: TcpListenerOptions;
  tls?: TlsListenerOptions;
  ws?: WsListenerOptions;
}

export interface ListenerHooks {
  /** Default host for listeners that name none. */
  host: string;
  /** Whether to keep a freshly accepted TCP socket; a refused one is destroyed at once. */
  admit(socket: Socket): boolean;
  attach(stream: Duplex, req?: IncomingMessage): void;
  tlsHandshakeTimeoutMs: number;
  /** Time allowed for a WebSocket upgrade request. */
  connectTimeoutMs: number;
  /** Largest WebSocket message: one MQTT packet at most. */
  wsMessageBytesMax: number;
  onTlsError(err: Error): void;
}

export interface Listeners {
  ports: { tcp?: number; tls?: number; ws?: number };
  close(): Promise<void>;
}

/** MQTT over WebSocket names its subprotocol `mqtt` (3.1.1) or `mqttv3.1`; a client that names none is served too. */
function chooseSubprotocol(offered: Set<string>): string | false {
  if (offered.has('mqtt')) return 'mqtt';
  if (offered.has('mqttv3.1')) return 'mqttv3.1';
  return false;
}

function listen(server: TcpServer, o: TcpListenerOptions, host: string): Promise<number> {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    return Promise.reject(new BrokerError('TS_ERR_GATEWAY_OPTIONS', `port must be 0..65535, got ${o.port}`));
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: TcpServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function openListeners(spec: ListenerSpec, hooks: ListenerHooks): Promise<Listeners> {
  if (spec.tcp === undefined && spec.tls === undefined && spec.ws === undefined) {
    throw new BrokerError('TS_ERR_GATEWAY_OPTIONS', 'no listener: give at least one of tcp, tls, ws');
  }
  const servers: (TcpServer | HttpServer)[] = [];
  const ports: Listeners['ports'] = {};
  const sockets = new Set<Socket>();
  const track = (socket: Socket): boolean => {
    if (!hooks.admit(socket)) {
      socket.destroy();
      return false;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return true;
  };
  let wss: WebSocketServer | null = null;
  const close = async (): Promise<void> => {
    const closing = servers.map(closeServer);
    wss?.close();
    for (const s of sockets) s.destroy();
    await Promise.all(closing);
  };

  try {
    if (spec.tcp !== undefined) {
      const server = createTcpServer({ noDelay: true }, (socket) => {
        if (track(socket)) hooks.attach(socket);
      });
      servers.push(server);
      ports.tcp = await listen(server, spec.tcp, hooks.host);
    }
    if (spec.tls !== undefined) {
      if (!spec.tls.key || !spec.tls.cert) throw new BrokerError('TS_ERR_GATEWAY_OPTIONS', 'tls: key and cert (PEM) are both required');
      const server = createTlsServer({ key: spec.tls.key, cert: spec.tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: hooks.tlsHandshakeTimeoutMs }, (tlsSocket) => hooks.attach(tlsSocket));
      // 'connection' is the raw TCP socket, before the handshake: refuse there.
      server.on('connection', (socket: Socket) => void track(socket));
      // A failed or timed-out handshake is reported here, and Node leaves the socket open once someone listens.
      server.on('tlsClientError', (err, tlsSocket) => {
        hooks.onTlsError(err);
        tlsSocket.destroy();
      });
      servers.push(server);
      ports.tls = await listen(server, spec.tls, hooks.host);
    }
    if (spec.ws !== undefined) {
      const path = spec.ws.path ?? '/mqtt';
      const http = createHttpServer({ headersTimeout: hooks.connectTimeoutMs, requestTimeout: hooks.connectTimeoutMs, connectionsCheckingInterval: Math.min(1000, hooks.connectTimeoutMs) });
      const server = new WebSocketServer({ noServer: true, maxPayload: hooks.wsMessageBytesMax, handleProtocols: chooseSubprotocol, perMessageDeflate: false });
      wss = server;
      http.on('connection', (socket: Socket) => void track(socket));
      http.on('request', (_req, res) => res.writeHead(404).end());
      http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (new URL(req.url ?? '/', 'http://x').pathname !== path) {
          socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
          return;
        }
        server.handleUpgrade(req, socket, head, (ws) => hooks.attach(createWebSocketStream(ws), req));
      });
      servers.push(http);
      ports.ws = await listen(http, spec.ws, hooks.host);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { ports, close };
}
