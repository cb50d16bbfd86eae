/**
 * The device link against a broker nobody here wrote: the system Mosquitto at
 * TAPSETTLE_MOSQUITTO_URL. A responder in the test plays the core: it answers
 * a settle request first with a forged result, then with one tagged under the
 * device key. Also: the retained config rule, and the last will on a crash.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, resultTag, topics, uuidv7, verifyResultTag } from '../../../protocol/index.ts';
import type { DeviceState } from '../../../protocol/index.ts';
import { DeviceLink } from '../../../firmware-hosts/runtime/link.ts';
import { seededRandom } from '../../../firmware-hosts/runtime/backoff.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import { quickBackoff, settleDraft } from './link-fixtures.ts';

const url = process.env.TAPSETTLE_MOSQUITTO_URL;
if (url === undefined || url === '') console.warn('TAPSETTLE_MOSQUITTO_URL is not set: skipping the device link tests against Mosquitto (e.g. mqtt://127.0.0.1:1883)');

const merchant = '001-0000042';
let t: ReturnType<typeof tempDir>;
let helper: MqttClient;
const retainedTopics = new Set<string>();

beforeAll(async () => {
  t = tempDir('tapsettle-link-mq-');
  if (url) helper = await mqtt.connectAsync(url, { clientId: `tapsettle-test-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
});
/** Leave no retained messages behind on a shared broker: an empty retained body clears one. */
async function clearRetained(): Promise<void> {
  for (const topic of retainedTopics) await helper.publishAsync(topic, '', { qos: 1, retain: true });
}
afterEach(clearRetained);
afterAll(async () => {
  if (url) {
    // Again at the end: a will the broker sends late (it notices a dead socket after the test) lands after the first clear.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await clearRetained();
    await helper.endAsync();
  }
  t.cleanup();
});

function newDevice() {
  const deviceId = `dev-${randomBytes(6).toString('hex')}`;
  const key = randomBytes(32);
  retainedTopics.add(topics.state(deviceId));
  return { deviceId, key, secret: key.toString('base64url'), dataDir: join(t.dir, deviceId) };
}
type Dev = ReturnType<typeof newDevice>;
const openLink = (d: Dev) => DeviceLink.open({ url: url!, deviceId: d.deviceId, secret: d.secret, dataDir: d.dataDir, kind: 'gate', backoff: quickBackoff, random: seededRandom(3) });
const connected = (link: DeviceLink) => new Promise<void>((resolve) => (link.connected ? resolve() : link.once('connected', resolve)));

/** How long a fresh subscriber waits for a retained message before concluding there is none. */
const retainedWaitMs = 2000;

/** A fresh subscriber's view of the retained state topic (status `none` when nothing is retained). */
async function retainedState(deviceId: string): Promise<{ state: Partial<DeviceState>; retain: boolean }> {
  const c = await mqtt.connectAsync(url!, { clientId: `tapsettle-watch-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
  try {
    const got = new Promise<{ state: Partial<DeviceState>; retain: boolean }>((resolve) => {
      setTimeout(() => resolve({ state: {}, retain: false }), retainedWaitMs);
      c.on('message', (_topic, payload, packet) => {
        const decoded = decodeMessage('state', payload);
        if (decoded.ok) resolve({ state: decoded.value, retain: packet.retain });
      });
    });
    await c.subscribeAsync(topics.state(deviceId), { qos: 1 });
    return await got;
  } finally {
    await c.endAsync();
  }
}

describe.skipIf(!url)('DeviceLink against Mosquitto', () => {
  it('acts only on the result whose tag verifies under the device key, then clears the outbox', async () => {
    const d = newDevice();
    const responder = await mqtt.connectAsync(url!, { clientId: `tapsettle-core-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
    responder.on('message', (_topic, payload) => {
      const req = decodeMessage('settle', payload);
      if (!req.ok) return;
      const fields = { deviceId: d.deviceId, requestId: req.value.requestId, amount: req.value.purchase.amount };
      const forged = { v: 1, type: 'result', sentAt: Date.now(), ...fields, status: 'approved' } as const;
      const genuine = { v: 1, type: 'result', sentAt: Date.now(), ...fields, status: 'declined', reason: 'insufficient-funds' } as const;
      // In order on one connection: the forged approval arrives first.
      responder.publish(topics.result(d.deviceId), JSON.stringify({ ...forged, tag: resultTag(randomBytes(32), forged) }), { qos: 1 });
      responder.publish(topics.result(d.deviceId), JSON.stringify({ ...genuine, tag: resultTag(d.key, genuine) }), { qos: 1 });
    });
    await responder.subscribeAsync(topics.settle(d.deviceId), { qos: 1 });
    const link = openLink(d);
    try {
      const result = await link.settle(settleDraft(d.deviceId, merchant, { walletId: uuidv7(), walletKey: randomBytes(32).toString('base64') }, 120));
      expect(result).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
      expect(verifyResultTag(d.key, result)).toBe(true);
      expect(link.stats.rejected['bad-tag']).toBe(1);
      expect(link.outbox.depth).toBe(0);
    } finally {
      await link.close();
      await responder.endAsync();
    }
  });

  it('resends the same bytes on the same connection until answered, and says out-of-service while the outbox is full', async () => {
    const d = newDevice();
    const bodies: string[] = [];
    const responder = await mqtt.connectAsync(url!, { clientId: `tapsettle-core-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
    let answer = false;
    responder.on('message', (_topic, payload) => {
      bodies.push(payload.toString());
      const req = decodeMessage('settle', payload);
      // The core is "slow": it answers only when the test lets it.
      if (!req.ok || !answer) return;
      const r = { v: 1, type: 'result', sentAt: Date.now(), deviceId: d.deviceId, requestId: req.value.requestId, status: 'approved', amount: req.value.purchase.amount } as const;
      responder.publish(topics.result(d.deviceId), JSON.stringify({ ...r, tag: resultTag(d.key, r) }), { qos: 1 });
    });
    await responder.subscribeAsync(topics.settle(d.deviceId), { qos: 1 });
    const link = DeviceLink.open({ url: url!, deviceId: d.deviceId, secret: d.secret, dataDir: d.dataDir, backoff: quickBackoff, limits: { resendAfterMs: 150 }, outbox: { entriesMax: 1 } });
    try {
      await connected(link);
      const pending = link.settle(settleDraft(d.deviceId, merchant, { walletId: uuidv7(), walletKey: randomBytes(32).toString('base64') }, 55), 20_000);
      await expect.poll(() => bodies.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect(new Set(bodies).size).toBe(1);
      await expect.poll(async () => (await retainedState(d.deviceId)).state, { timeout: 10_000 }).toMatchObject({ status: 'out-of-service', health: { outboxDepth: 1, outboxMax: 1, faults: ['outbox-full'] } });
      answer = true;
      expect((await pending).status).toBe('approved');
      expect(link.outbox.depth).toBe(0);
      await expect.poll(async () => (await retainedState(d.deviceId)).state, { timeout: 10_000 }).toMatchObject({ status: 'online', health: { outboxDepth: 0, faults: [] } });
    } finally {
      await link.close();
      await responder.endAsync();
    }
  });

  it('announces online with health, and the broker publishes the retained offline will when the socket dies', async () => {
    const d = newDevice();
    const link = openLink(d);
    await connected(link);
    await expect.poll(async () => (await retainedState(d.deviceId)).state.status, { timeout: 10_000 }).toBe('online');
    const online = await retainedState(d.deviceId);
    expect(online.state.health).toMatchObject({ outboxDepth: 0, outboxMax: link.outbox.limits.entriesMax, faults: [] });
    await link.abort();
    await expect.poll(async () => (await retainedState(d.deviceId)).state.status, { timeout: 10_000 }).toBe('offline');
    const offline = await retainedState(d.deviceId);
    expect(offline.retain).toBe(true);
    // The online state carries a seq; the will none (it may never be sent, so it must not claim one).
    expect(online.state.seq).toBeGreaterThanOrEqual(0);
    expect(offline.state.seq).toBeUndefined();
  });

  it('applies only a newer retained config, and restores the applied one after a restart', async () => {
    const d = newDevice();
    retainedTopics.add(topics.config(d.deviceId));
    const config = (version: number) => JSON.stringify({ v: 1, type: 'config', requestId: uuidv7(), sentAt: Date.now(), deviceId: d.deviceId, version, merchant });
    await helper.publishAsync(topics.config(d.deviceId), config(2), { qos: 1, retain: true });
    const first = openLink(d);
    const applied = await new Promise<number>((resolve) => first.once('config', (c) => resolve(c.version)));
    expect(applied).toBe(2);
    await helper.publishAsync(topics.config(d.deviceId), config(1), { qos: 1, retain: true });
    await expect.poll(() => first.stats.configsIgnored).toBe(1);
    expect(first.config?.version).toBe(2);
    const lastSeq = first.outbox.lastSeq;
    await first.close();

    const second = openLink(d);
    try {
      expect(second.config?.version).toBe(2);
      expect(second.state().configVersion).toBe(2);
      await connected(second);
      await expect.poll(() => second.stats.configsIgnored).toBe(1);
      expect(second.outbox.lastSeq).toBeGreaterThan(lastSeq);
    } finally {
      await second.close();
    }
  });
});
