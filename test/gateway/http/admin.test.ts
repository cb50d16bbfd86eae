/** Admin HTTP: liveness, readiness, Prometheus metrics (each named metric, fed by its source), the device list, the admin token. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRequest, settleOk } from '../../settlement-core/fixtures.ts';
import { GatewayMetrics, metricNames } from '../../../gateway/metrics.ts';
import { SequenceTracker } from '../../../gateway/bridge/sequence-tracker.ts';
import { errorCodeOf, post, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

const adminToken = 'admin-token-for-tests-0123456789';
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ adminToken });
});
afterAll(() => h.close());

const admin = (path: string, token: string | null = adminToken) => fetch(`${h.base}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });

/** The value of one sample line of the exposition text, or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('admin HTTP', () => {
  it('/healthz answers while the process is up', async () => {
    const r = await admin('/healthz', null);
    expect([r.status, await r.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('/metrics needs the admin token, then exposes every metric with its labels', async () => {
    const refused = await admin('/metrics', null);
    expect([refused.status, errorCodeOf({ body: await refused.json(), headers: refused.headers })]).toEqual([401, 'TS_ERR_ADMIN_TOKEN']);
    const wrong = await admin('/metrics', 'not-the-admin-token-at-all');
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();

    const w = h.station.wallets[0]!;
    await post(h.base, '/v1/settle', JSON.stringify(makeRequest(h.station, w, { amount: 10 })));
    await post(h.base, '/v1/settle', JSON.stringify(makeRequest(h.station, w, { amount: 10_000_000 })));
    await post(h.base, '/v1/settle', '{');
    await settleOk(h.station, makeRequest(h.station, w, { amount: 20, restrictions: { coolingOffSec: 600 } }));
    h.metrics.aclBreach('publish');
    h.metrics.rejectedMessage('malformed-json');
    h.metrics.rejectedMessage('something-else');
    let connections = 0;
    h.metrics.setConnections(() => connections);
    connections = 7;

    const r = await admin('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    for (const name of Object.values(metricNames)) expect(text).toContain(`# TYPE ${name} `);
    expect(sample(text, metricNames.connections)).toBe(7);
    expect(sample(text, metricNames.settles, '{status="approved",reason="none"}')).toBe(1);
    expect(sample(text, metricNames.settles, '{status="declined",reason="over-limit"}')).toBe(1);
    expect(sample(text, metricNames.settles, '{status="unreadable",reason="malformed-json"}')).toBe(1);
    expect(sample(text, `${metricNames.settleSeconds}_count`)).toBe(3);
    expect(sample(text, `${metricNames.batchSize}_count`)).toBeGreaterThan(0);
    expect(sample(text, `${metricNames.batchSeconds}_count`)).toBeGreaterThan(0);
    expect(sample(text, metricNames.backlog, '{state="deferred"}')).toBe(1);
    expect(sample(text, metricNames.backlog, '{state="received"}')).toBe(0);
    expect(sample(text, metricNames.aclBreaches, '{action="publish"}')).toBe(1);
    expect(sample(text, metricNames.rejected, '{reason="malformed-json"}')).toBe(1);
    expect(sample(text, metricNames.rejected, '{reason="other"}')).toBe(1);
    expect(sample(text, metricNames.streams)).toBe(0);
  });

  it('keeps each GatewayMetrics in its own registry, with process metrics when asked', async () => {
    const a = new GatewayMetrics({ defaultMetrics: true });
    const b = new GatewayMetrics({ defaultMetrics: false });
    a.aclBreach('subscribe');
    expect(sample(await a.text(), metricNames.aclBreaches, '{action="subscribe"}')).toBe(1);
    expect(sample(await b.text(), metricNames.aclBreaches, '{action="subscribe"}')).toBeUndefined();
    expect(await a.text()).toContain('tapsettle_process_cpu_seconds_total');
    expect(await b.text()).not.toContain('process_cpu');
  });

  it('/v1/devices lists registered devices with online/offline, and devices the broker sees that are not registered', async () => {
    const refused = await admin('/v1/devices', null);
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
    const offline = (await (await admin('/v1/devices')).json()) as { devices: unknown[]; online: number };
    expect(offline).toEqual({ online: 0, devices: [expect.objectContaining({ id: 'vm-1', kind: 'vending', merchant: h.station.merchant, status: 'active', registered: true, presence: 'offline', since: null })] });
    h.presence.set('vm-1', { status: 'online', since: 1234 });
    h.presence.set('stray-9', { status: 'offline', since: 99 });
    const online = (await (await admin('/v1/devices')).json()) as { devices: unknown[]; online: number };
    expect(online.online).toBe(1);
    expect(online.devices).toEqual([
      expect.objectContaining({ id: 'vm-1', registered: true, presence: 'online', since: 1234 }),
      { id: 'stray-9', registered: false, presence: 'offline', since: 99, seq: null },
    ]);
    expect(online.devices[0]).toMatchObject({ seq: null });
  });

  it('/v1/devices and /metrics show the seq tracking: each device\'s record, totals only in Prometheus', async () => {
    const tracker = new SequenceTracker({}, () => 77);
    h.metrics.watchSequences(tracker);
    tracker.observe('vm-1', 3, 'a');
    tracker.observe('vm-1', 6, 'b');
    tracker.observe('vm-1', 6, 'b');
    const body = (await (await admin('/v1/devices')).json()) as { devices: { id: string; seq: unknown }[] };
    expect(body.devices.find((d) => d.id === 'vm-1')?.seq).toEqual({ lastSeq: 6, baselineSeq: 3, gaps: 2, missing: 2, outOfOrder: 0, duplicates: 0, resends: 1, unsequenced: 0, since: 77, lastAt: 77 });
    const text = await (await admin('/metrics')).text();
    expect(text).toContain(`${metricNames.seqGaps} 2`);
    expect(text).toContain(`${metricNames.seqResends} 1`);
    expect(text).toContain(`${metricNames.seqDevices} 1`);
    expect(text).not.toMatch(/tapsettle_device_seq_\w+\{/);
  });

  it('/readyz is 200 while the core\'s store answers and 503 once it is closed', async () => {
    const ready = await admin('/readyz', null);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { store: 'ok' } });
    await h.station.core.close();
    const closed = await admin('/readyz', null);
    expect(closed.status).toBe(503);
    expect(await closed.json()).toMatchObject({ status: 'not-ready' });
    // Still alive, and the wallet API answers a closed core with a coded 503, not a stack trace.
    expect((await admin('/healthz', null)).status).toBe(200);
    const settle = await post(h.base, '/v1/settle', JSON.stringify(makeRequest(h.station, h.station.wallets[0]!)));
    expect([settle.status, errorCodeOf(settle)]).toEqual([503, 'TS_ERR_UNAVAILABLE']);
    expect(settle.text).not.toContain(' at ');
  });
});
