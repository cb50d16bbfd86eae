/**
 * The dashboard's routes over real HTTP on an in-process demo gateway: the
 * page and its headers, the local-only rule, the buttons through the real
 * simulated station (device hosts on simulated parts, as `tapsettle start`), fuzzed bad bodies (always a coded
 * 4xx, never a stack, the process keeps serving), the stream's client limit,
 * its heartbeat, and a reader that stops reading being dropped.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardSnapshot, DashboardUpdate } from '../../../gateway/dashboard/views.ts';
import { exitFareMinor, extraDashboard, startDashboardGateway } from './fixtures.ts';
import type { DashboardGateway } from './fixtures.ts';
import { stateMsg } from './messages.ts';
import { openSse, rawRequest } from './sse-client.ts';

let d: DashboardGateway;
let base: string;

beforeAll(async () => {
  d = await startDashboardGateway({ station: true });
  base = d.gw.urls.http;
});
afterAll(async () => {
  await d.close();
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}

describe('dashboard page', () => {
  it('serves the page, its script and style with a same-origin-only CSP', async () => {
    for (const [path, type] of [['/dashboard', 'text/html'], ['/dashboard/app.js', 'text/javascript'], ['/dashboard/style.css', 'text/css'], ['/dashboard/icon.svg', 'image/svg+xml']] as const) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'self'/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const html = await (await fetch(`${base}/dashboard`)).text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('src="/dashboard/app.js"');
  });

  it('answers only requests from this machine that name it in Host', async () => {
    for (const host of ['evil.example', 'evil.example:8080', '10.0.0.1', '127.0.0.1.evil.example']) {
      const res = await rawRequest(`${base}/dashboard/api/snapshot`, { headers: { host } });
      expect(res.status, host).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'TS_ERR_DASHBOARD_LOCAL_ONLY' } });
    }
    const port = new URL(base).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'LOCALHOST']) {
      expect((await rawRequest(`${base}/dashboard/api/snapshot`, { headers: { host } })).status, host).toBe(200);
    }
  });

  it('refuses a button press from another origin', async () => {
    const res = await post(`${base}/dashboard/api/cut`, { deviceId: 'vending-1', on: true }, { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('TS_ERR_DASHBOARD_ORIGIN');
  });
});

describe('dashboard data and buttons', () => {
  it('lists the demo devices, the station\'s roles and the phones', async () => {
    const snap = (await (await fetch(`${base}/dashboard/api/snapshot`)).json()) as DashboardSnapshot;
    expect(snap.station).toBe(true);
    expect(snap.devices.map((x) => x.id).sort()).toEqual(['gate-entry-1', 'gate-exit-1', 'kiosk-1', 'pos-1', 'vending-1']);
    expect(snap.devices.find((x) => x.id === 'gate-exit-1')).toMatchObject({ role: 'exit gate', presence: 'online' });
    expect(snap.devices.find((x) => x.id === 'kiosk-1')).toMatchObject({ presence: 'online', role: 'ticket kiosk' });
    expect(snap.devices.find((x) => x.id === 'vending-1')).toMatchObject({ role: 'snack machine', slots: ['A1', 'A2', 'B1', 'B2'] });
    expect(snap.phones.map((p) => p.name)).toEqual(['Ada', 'Ben', 'Cleo', 'Dev', 'Eve']);
  });

  it('taps a phone in at the entry gate and out at the exit gate: the stream shows the gate open, the settlement and the new balance', async () => {
    const stream = await openSse(`${base}/dashboard/api/stream`);
    try {
      await expect.poll(() => stream.events.length).toBeGreaterThan(0);
      const first = JSON.parse(stream.events[0]!.data) as DashboardSnapshot;
      expect(stream.events[0]!.event).toBe('snapshot');
      const before = first.phones.find((p) => p.name === 'Ben')!.balance.minor;
      expect(await (await post(`${base}/dashboard/api/tap`, { phone: 'Ben', deviceId: 'gate-entry-1' })).json()).toEqual({ ok: true, message: 'opened: entered at central' });
      const res = await post(`${base}/dashboard/api/tap`, { phone: 'Ben', deviceId: 'gate-exit-1' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, message: `opened: fare ${(exitFareMinor / 100).toFixed(2)} EUR, passed` });
      const updates = () => stream.events.filter((e) => e.event === 'update').map((e) => JSON.parse(e.data) as DashboardUpdate);
      await expect.poll(() => updates().some((u) => u.devices.some((x) => x.id === 'gate-exit-1' && x.outputs.some((o) => o.name === 'gate' && o.state === 'open')))).toBe(true);
      await expect.poll(() => updates().flatMap((u) => u.settlements).find((s) => s.deviceId === 'gate-exit-1' && s.outcome === 'passed')).toMatchObject({
        status: 'approved', amount: { minor: exitFareMinor, currency: 'EUR' }, walletId: first.phones.find((p) => p.name === 'Ben')!.walletId,
      });
      await expect.poll(() => updates().flatMap((u) => u.phones ?? []).filter((p) => p.name === 'Ben').at(-1)?.balance.minor).toBe(before - exitFareMinor);
    } finally {
      stream.close();
    }
  });

  it('answers unknown phones, devices and slots with coded 404s', async () => {
    const cases: [string, unknown, string][] = [
      ['tap', { phone: 'Zed', deviceId: 'gate-exit-1' }, 'TS_ERR_DASHBOARD_UNKNOWN_PHONE'],
      ['tap', { phone: 'Ada', deviceId: 'no-such-device' }, 'TS_ERR_DASHBOARD_UNKNOWN_DEVICE'],
      ['jam', { deviceId: 'vending-1', slot: 'Z9' }, 'TS_ERR_DASHBOARD_UNKNOWN_DEVICE'],
      ['cut', { deviceId: 'lift-1', on: true }, 'TS_ERR_DASHBOARD_UNKNOWN_DEVICE'],
    ];
    for (const [action, body, code] of cases) {
      const res = await post(`${base}/dashboard/api/${action}`, body);
      expect(res.status, code).toBe(404);
      expect((await errorOf(res)).code).toBe(code);
    }
  });

  it('reports a station failure as a coded 409 with its message, and cut/reconnect works', async () => {
    expect((await post(`${base}/dashboard/api/cut`, { deviceId: 'vending-1', on: true })).status).toBe(200);
    const res = await post(`${base}/dashboard/api/tap`, { phone: 'Ada', deviceId: 'vending-1' });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toEqual({ code: 'TS_ERR_DASHBOARD_ACTION_FAILED', message: 'vending-1 is cut off; reconnect it first' });
    await expect.poll(async () => ((await (await fetch(`${base}/dashboard/api/snapshot`)).json()) as DashboardSnapshot).devices.find((x) => x.id === 'vending-1')).toMatchObject({ presence: 'offline', cutOff: true });
    expect((await post(`${base}/dashboard/api/cut`, { deviceId: 'vending-1', on: false })).status).toBe(200);
    const jam = await post(`${base}/dashboard/api/jam`, { deviceId: 'vending-1', slot: 'A2' });
    expect(await jam.json()).toEqual({ ok: true, message: 'slot A2 jammed: its next vend drops nothing' });
  });

  it('passes a tap\'s choice to the station: the jammed slot turns, drops nothing and is answered vend-failed', async () => {
    const res = await post(`${base}/dashboard/api/tap`, { phone: 'Ada', deviceId: 'vending-1', choice: 'A2' });
    expect(await res.json()).toEqual({ ok: true, message: 'approved 2.00 EUR crisps-50: vend-failed' });
    const bad = await post(`${base}/dashboard/api/tap`, { phone: 'Ada', deviceId: 'vending-1', choice: 'x'.repeat(33) });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('TS_ERR_INVALID_BODY');
  });
});

describe('dashboard without a station', () => {
  let extra: Awaited<ReturnType<typeof extraDashboard>>;
  beforeAll(async () => {
    extra = await extraDashboard(d.gw, {});
  });
  afterAll(async () => {
    await extra.close();
  });

  it('hides the buttons: a valid press is TS_ERR_DASHBOARD_NO_STATION', async () => {
    const snap = (await (await fetch(`${extra.url}/dashboard/api/snapshot`)).json()) as DashboardSnapshot;
    expect(snap).toMatchObject({ station: false, phones: [] });
    expect(snap.devices.length).toBeGreaterThan(0);
    const res = await post(`${extra.url}/dashboard/api/tap`, { phone: 'Ada', deviceId: 'gate-exit-1' });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('TS_ERR_DASHBOARD_NO_STATION');
  });

  it('answers any bad body with a coded 4xx and no stack, and keeps serving', async () => {
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json().map((j) => j),
      fc.dictionary(fc.constantFrom('phone', 'deviceId', 'slot', 'on', 'x'), fc.jsonValue({ maxDepth: 2 })).map((o) => JSON.stringify(o)),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded');
    await fc.assert(fc.asyncProperty(fc.constantFrom('tap', 'jam', 'cut'), body, contentType, async (action, raw, type) => {
      const res = await fetch(`${extra.url}/dashboard/api/${action}`, { method: 'POST', headers: { 'content-type': type }, body: raw });
      const text = await res.text();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const parsed = JSON.parse(text) as { error: { code: string; message: string } };
      expect(parsed.error.code).toMatch(/^TS_ERR_[A-Z_]+$/);
      expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    }), { numRuns: 150 });
    expect((await fetch(`${extra.url}/healthz`)).status).toBe(200);
  });
});

describe('dashboard stream limits', () => {
  it('refuses a stream over streamClientsMax with a coded 429, and takes one again after a close', async () => {
    const extra = await extraDashboard(d.gw, { streamClientsMax: 2 });
    try {
      const a = await openSse(`${extra.url}/dashboard/api/stream`);
      const b = await openSse(`${extra.url}/dashboard/api/stream`);
      expect([a.status, b.status]).toEqual([200, 200]);
      const refused = await fetch(`${extra.url}/dashboard/api/stream`);
      expect(refused.status).toBe(429);
      expect((await errorOf(refused)).code).toBe('TS_ERR_DASHBOARD_TOO_MANY_STREAMS');
      expect(extra.dash.streams.stats()).toMatchObject({ open: 2, refused: 1 });
      a.close();
      await expect.poll(() => extra.dash.streams.stats().open).toBe(1);
      const c = await openSse(`${extra.url}/dashboard/api/stream`);
      expect(c.status).toBe(200);
      b.close();
      c.close();
    } finally {
      await extra.close();
    }
  });

  it('sends heartbeats on a quiet stream', async () => {
    const extra = await extraDashboard(d.gw, { heartbeatMs: 50 });
    try {
      const s = await openSse(`${extra.url}/dashboard/api/stream`);
      await expect.poll(() => s.text().split(': heartbeat').length - 1).toBeGreaterThanOrEqual(2);
      s.close();
    } finally {
      await extra.close();
    }
  });

  it('drops a reader that stops reading once streamBufferBytesMax waits for it; a reading one stays', async () => {
    const extra = await extraDashboard(d.gw, { streamBufferBytesMax: 64 * 1024, devicesMax: 200 });
    try {
      const stalled = await openSse(`${extra.url}/dashboard/api/stream`, { read: false });
      const reading = await openSse(`${extra.url}/dashboard/api/stream`);
      const big = Array.from({ length: 16 }, (_, i) => ({ name: `relay-${i}`, kind: 'relay' as const, state: 'x'.repeat(180) }));
      // ~0.7 MB per flush: the stalled reader's socket buffers fill, then its stream buffer passes the limit.
      for (let round = 0; round < 60 && extra.dash.streams.stats().droppedSlow === 0; round += 1) {
        for (let i = 0; i < 200; i += 1) extra.dash.feed.applyState(stateMsg(`load-${i}`, { outputs: big }));
        await extra.dash.feed.flush();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(extra.dash.streams.stats()).toMatchObject({ droppedSlow: 1, open: 1 });
      // The kernel still holds what was sent; once the browser reads again it reaches the end of a closed stream.
      stalled.response.resume();
      await expect.poll(() => stalled.closed()).toBe(true);
      expect(reading.closed()).toBe(false);
      reading.close();
    } finally {
      await extra.close();
    }
  });
});
