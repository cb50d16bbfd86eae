/** A minimal Server-Sent Events reader over node:http, for the dashboard's stream tests. */
import { request } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  response: IncomingMessage;
  events: SseEvent[];
  /** Raw text seen, comments included. */
  text: () => string;
  closed: () => boolean;
  close(): void;
}

/** Opens `url`; resolves once the status line arrives. `read: false` never reads the body (a stalled browser). */
export function openSse(url: string, o: { read?: boolean; headers?: Record<string, string> } = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | null = null;
    req = request(url, { headers: { accept: 'text/event-stream', ...o.headers } }, (response) => {
      let raw = '';
      let closed = false;
      const events: SseEvent[] = [];
      // The socket's close: a paused response would report its own only once read to the end.
      response.socket.once('close', () => void (closed = true));
      response.on('error', () => undefined);
      if (o.read === false) response.pause();
      else {
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          raw += chunk;
          pending += chunk;
          let end: number;
          while ((end = pending.indexOf('\n\n')) >= 0) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const lines = block.split('\n');
            const name = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length);
            const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice('data: '.length)).join('\n');
            if (name !== undefined) events.push({ event: name, data });
          }
        });
      }
      resolve({ status: response.statusCode ?? 0, response, events, text: () => raw, closed: () => closed, close: () => req?.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain request with full control of the headers (Host included, which fetch will not set). */
export function rawRequest(url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => void (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
