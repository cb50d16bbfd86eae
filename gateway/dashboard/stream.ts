/**
 * The dashboard's live stream, Server-Sent Events (no dependency, and the
 * browser's EventSource reconnects by itself). A stream opens with
 *
 *   event: snapshot\ndata: {DashboardSnapshot}\n\n
 *
 * then gets `event: update` with what changed, at most every `flushMs`, and a
 * comment line every `heartbeatMs`. At most `streamClientsMax` streams are
 * open; a reader with more than `streamBufferBytesMax` unsent bytes is cut
 * (its memory freed at once). The page reconnects and starts again from a
 * fresh snapshot, so a dropped stream loses nothing.
 */
import type { ServerResponse } from 'node:http';
import { DashboardError } from './errors.ts';
import type { DashboardLimits } from './limits.ts';
import type { DashboardSnapshot, DashboardUpdate } from './views.ts';

/** What the page waits before reconnecting, ms (the SSE `retry:` field). */
export const reconnectDelayMs = 2000;

export interface StreamSource {
  subscribe(listener: (update: DashboardUpdate) => void): () => void;
  snapshot(): Promise<DashboardSnapshot>;
}

export interface StreamStats {
  open: number;
  opened: number;
  /** Streams cut because their reader fell `streamBufferBytesMax` behind. */
  droppedSlow: number;
  refused: number;
}

const sseEvent = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

export class DashboardStreams {
  private readonly open = new Set<ServerResponse>();
  private readonly counts = { opened: 0, droppedSlow: 0, refused: 0 };

  constructor(
    private readonly source: StreamSource,
    private readonly limits: Pick<DashboardLimits, 'streamClientsMax' | 'streamBufferBytesMax' | 'heartbeatMs'>,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  stats(): StreamStats {
    return { open: this.open.size, ...this.counts };
  }

  /** Refuses with TS_ERR_DASHBOARD_TOO_MANY_STREAMS when full; call before hijacking the reply. */
  reserve(): void {
    if (this.open.size >= this.limits.streamClientsMax) {
      this.counts.refused += 1;
      throw new DashboardError('TS_ERR_DASHBOARD_TOO_MANY_STREAMS', `too many open dashboard streams (${this.limits.streamClientsMax}); close a tab and retry`);
    }
  }

  /** Streams on a response whose headers are not yet sent (the reply is hijacked). */
  async attach(res: ServerResponse, headers: Record<string, string>): Promise<void> {
    this.reserve();
    this.open.add(res);
    this.counts.opened += 1;
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'close', 'x-accel-buffering': 'no' });
    const write = (chunk: string): void => {
      if (res.writableEnded || res.destroyed) return;
      if (res.writableLength > this.limits.streamBufferBytesMax) {
        this.counts.droppedSlow += 1;
        this.log.warn({ waitingBytes: res.writableLength }, 'dashboard stream not read; dropping it');
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    // Subscribe before reading the snapshot: an update sent meanwhile is older than the snapshot that follows it.
    const unsubscribe = this.source.subscribe((update) => write(sseEvent('update', update)));
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.limits.heartbeatMs);
    // A write to a socket the browser dropped errors here; 'close' follows and cleans up.
    res.on('error', () => undefined);
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(res);
    });
    write(`retry: ${reconnectDelayMs}\n: dashboard stream open\n\n`);
    write(sseEvent('snapshot', await this.source.snapshot()));
  }

  closeAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
