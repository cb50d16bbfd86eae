/** Claim 12 as a stream: SSE of a wallet's results, opened with a proof, bounded, with heartbeats. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRequest, settleOk } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { resultConcernsWallet } from '../../../gateway/http/result-hub.ts';
import { errorCodeOf, post, signed, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

let h: Harness;
let w0: TestWallet;
let w1: TestWallet;

beforeAll(async () => {
  h = await startHarness({ limits: { heartbeatMs: 100 }, hubLimits: { streamsPerWalletMax: 2 } });
  [w0, w1] = h.station.wallets as [TestWallet, TestWallet];
});
afterAll(() => h.close());

interface Stream {
  status: number;
  /** Reads until the text received so far satisfies `until`; fails after `ms`. */
  read(until: (text: string) => boolean, ms?: number): Promise<string>;
  close(): Promise<void>;
}

async function openStream(w: TestWallet, headers: Record<string, string> = {}): Promise<Stream> {
  const s = signed(h.base, w, 'GET', `/v1/wallets/${w.walletId}/results`);
  const abort = new AbortController();
  const res = await fetch(s.url, { ...s.init, headers: { ...s.init.headers, ...headers }, signal: abort.signal });
  const decoder = new TextDecoder();
  let text = '';
  let ended = false;
  // A pump appends what arrives; read() waits on the text, so no chunk is lost to a timeout.
  const pump = (async () => {
    try {
      for await (const chunk of res.body! as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  return {
    status: res.status,
    read: async (until, ms = 5000) => {
      const deadline = Date.now() + ms;
      while (!until(text) && !ended) {
        if (Date.now() > deadline) throw new Error(`stream did not deliver in ${ms} ms; got ${JSON.stringify(text)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return text;
    },
    close: async () => {
      abort.abort();
      await pump;
    },
  };
}

const waitFor = async (check: () => boolean): Promise<void> => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('GET /v1/wallets/{w}/results (SSE)', () => {
  it('is refused without a proof, with a JSON error', async () => {
    const res = await fetch(`${h.base}/v1/wallets/${w0.walletId}/results`);
    expect(res.status).toBe(401);
    expect(errorCodeOf({ body: await res.json(), headers: res.headers })).toBe('TS_ERR_PROOF_MISSING');
    const forged = signed(h.base, w0, 'GET', `/v1/wallets/${w0.walletId}/results`, { signAs: w1 });
    const r2 = await fetch(forged.url, forged.init);
    expect(r2.status).toBe(401);
    await r2.body?.cancel();
  });

  it('streams the wallet\'s results — a claim-9 settle and one the bridge publishes — and heartbeats', async () => {
    const stream = await openStream(w0);
    try {
      expect(stream.status).toBe(200);
      await stream.read((t) => t.includes(': stream open'));
      const req = makeRequest(h.station, w0, { amount: 75 });
      const answer = await post(h.base, '/v1/settle', JSON.stringify(req));
      const text = await stream.read((t) => t.includes(req.requestId));
      expect(text).toContain(`id: ${req.requestId}\nevent: result\ndata: ${answer.text}\n\n`);
      // A device-sent settle: the bridge publishes its result to the hub.
      const viaDevice = await settleOk(h.station, makeRequest(h.station, w0, { amount: 76 }));
      expect(resultConcernsWallet(viaDevice.result)).toBe(true);
      h.hub.publish(w0.walletId, viaDevice.json);
      expect(await stream.read((t) => t.includes(viaDevice.json))).toContain(`id: ${viaDevice.result.requestId}\n`);
      expect(await stream.read((t) => t.includes(': heartbeat'))).toContain(': heartbeat\n\n');
      // Another wallet's results never appear.
      const other = makeRequest(h.station, w1, { amount: 5 });
      await post(h.base, '/v1/settle', JSON.stringify(other));
      const later = await stream.read((t) => t.split(': heartbeat').length > 3);
      expect(later).not.toContain(other.requestId);
    } finally {
      await stream.close();
    }
  });

  it('replays the recent results after Last-Event-ID on reconnect', async () => {
    const a = makeRequest(h.station, w1, { amount: 1 });
    const b = makeRequest(h.station, w1, { amount: 2 });
    await post(h.base, '/v1/settle', JSON.stringify(a));
    await post(h.base, '/v1/settle', JSON.stringify(b));
    const stream = await openStream(w1, { 'last-event-id': a.requestId });
    try {
      const text = await stream.read((t) => t.includes(b.requestId));
      expect(text).not.toContain(`id: ${a.requestId}`);
    } finally {
      await stream.close();
    }
  });

  it('bounds the streams per wallet and frees a slot when a stream closes', async () => {
    await waitFor(() => h.hub.streams === 0);
    const s1 = await openStream(w0);
    const s2 = await openStream(w0);
    try {
      const third = signed(h.base, w0, 'GET', `/v1/wallets/${w0.walletId}/results`);
      const res = await fetch(third.url, third.init);
      expect(res.status).toBe(429);
      expect(errorCodeOf({ body: await res.json(), headers: res.headers })).toBe('TS_ERR_TOO_MANY_STREAMS');
      expect(h.hub.streams).toBe(2);
      await s1.close();
      await waitFor(() => h.hub.streams === 1);
      const s3 = await openStream(w0);
      expect(s3.status).toBe(200);
      await s3.close();
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  it('ends open streams when the server closes', async () => {
    const own = await startHarness();
    const w = own.station.wallets[0]!;
    const s = signed(own.base, w, 'GET', `/v1/wallets/${w.walletId}/results`);
    const res = await fetch(s.url, s.init);
    const reader = res.body!.getReader();
    await reader.read();
    await own.close();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
    }
    expect(own.hub.streams).toBe(0);
  });
});
