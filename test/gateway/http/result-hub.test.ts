/** The ResultHub's bounds, and a result stream whose reader stops reading. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../protocol/index.ts';
import { ResultHub, resultConcernsWallet } from '../../../gateway/http/result-hub.ts';
import { signed, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

const result = (requestId = uuidv7()) => JSON.stringify({ v: 1, type: 'result', requestId, status: 'approved' });

describe('ResultHub', () => {
  it('keeps a bounded number of recent results per wallet and of wallets', () => {
    const hub = new ResultHub({ recentPerWalletMax: 2, recentWalletsMax: 2 });
    const ids = [uuidv7(), uuidv7(), uuidv7()];
    for (const id of ids) hub.publish('w-a', result(id));
    expect(hub.recent('w-a', ids[0]!)).toBeUndefined();
    expect(hub.recent('w-a', ids[2]!)).toBe(result(ids[2]));
    expect(hub.recentAfter('w-a', ids[1]!).map((r) => r.requestId)).toEqual([ids[2]]);
    hub.publish('w-b', result());
    hub.publish('w-c', result());
    expect(hub.recent('w-a', ids[2]!)).toBeUndefined();
  });

  it('bounds subscriptions per wallet and in all, and frees them once', () => {
    const hub = new ResultHub({ streamsPerWalletMax: 1, streamsMax: 2 });
    const a = hub.subscribe('w-a', () => undefined);
    expect(hub.subscribe('w-a', () => undefined)).toEqual({ ok: false, limit: 'streamsPerWalletMax' });
    expect(hub.subscribe('w-b', () => undefined).ok).toBe(true);
    expect(hub.subscribe('w-c', () => undefined)).toEqual({ ok: false, limit: 'streamsMax' });
    if (!a.ok) throw new Error('first subscription refused');
    a.unsubscribe();
    a.unsubscribe();
    expect(hub.streams).toBe(1);
  });

  it('delivers to every listener even if one throws, and refuses a result without a request id', () => {
    const hub = new ResultHub();
    const got: string[] = [];
    hub.subscribe('w', () => {
      throw new Error('broken stream');
    });
    hub.subscribe('w', (json) => got.push(json));
    hub.publish('w', result());
    expect(got).toHaveLength(1);
    expect(() => hub.publish('w', '{"requestId":"nope"}')).toThrow(TypeError);
    expect(() => hub.publish('w', 'not json')).toThrow(TypeError);
    expect(() => new ResultHub({ streamsMax: 0 })).toThrow(RangeError);
  });

  it('sends a wallet only the results decided after its cryptogram verified', () => {
    expect(resultConcernsWallet({ status: 'approved' })).toBe(true);
    expect(resultConcernsWallet({ status: 'declined', reason: 'insufficient-funds' })).toBe(true);
    for (const reason of ['bad-cryptogram', 'counter-reused', 'unknown-wallet', 'account-not-active', 'duplicate-mismatch'] as const) {
      expect(resultConcernsWallet({ status: 'declined', reason })).toBe(false);
    }
  });
});

describe('a result stream nobody reads', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { streamBufferBytesMax: 16 * 1024 } });
  });
  afterAll(() => h.close());

  it('is closed once its buffer is full, instead of growing', async () => {
    const w = h.station.wallets[0]!;
    const s = signed(h.base, w, 'GET', `/v1/wallets/${w.walletId}/results`);
    const url = new URL(s.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    const headers = Object.entries(s.init.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n${headers}\r\n`);
    const deadline = Date.now() + 5000;
    while (h.hub.streams === 0) {
      if (Date.now() > deadline) throw new Error('stream did not open');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    socket.pause();
    const padded = (id: string) => JSON.stringify({ v: 1, type: 'result', requestId: id, pad: 'x'.repeat(2000) });
    // Up to ~100 MB offered: more than any loopback socket buffers; the stream must be cut long before.
    let i = 0;
    for (; i < 50_000 && h.hub.streams > 0; i += 1) {
      h.hub.publish(w.walletId, padded(uuidv7()));
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(h.hub.streams).toBe(0);
    expect(i).toBeLessThan(50_000);
    socket.destroy();
    await closed;
  });
});
