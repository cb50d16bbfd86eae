/**
 * Broker state in Redis (aedes-persistence-redis + mqemitter-redis): a
 * persistent session's queued result and a device's retained state survive a
 * broker restart. Runs against the Redis named by TAPSETTLE_REDIS_URL, under
 * a key prefix of its own that it deletes afterwards.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { topics, uuidv7 } from '../../../protocol/index.ts';
import { startBroker } from '../../../gateway/broker/broker.ts';
import { connectDevice, endClient, openStation, until } from './harness.ts';

const url = process.env.TAPSETTLE_REDIS_URL;
if (!url) console.warn('skipping the Redis persistence test: set TAPSETTLE_REDIS_URL (e.g. redis://127.0.0.1:6379) to run it');

const prefix = `tapsettle:test:${randomUUID()}:`;
const device = `vm-redis-${randomUUID().slice(0, 8)}`;

/** ioredis comes with aedes-persistence-redis; only what the cleanup calls is typed. */
interface RedisClient {
  scanStream(o: { match: string; count: number }): AsyncIterable<string[]>;
  del(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
}

afterAll(async () => {
  if (!url) return;
  const Redis = createRequire(import.meta.url)('ioredis') as new (u: string) => RedisClient;
  const redis = new Redis(url);
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('broker on Redis', () => {
  it.skipIf(!url)('keeps a persistent session\'s queued result and the retained state across a broker restart', async () => {
    const state = JSON.stringify({ v: 1, type: 'state', requestId: uuidv7(), sentAt: Date.now(), deviceId: device, status: 'online' });
    const first = await openStation([device], { redisUrl: url!, redisKeyPrefix: prefix });
    try {
      const client = await connectDevice(first, device, { clean: false });
      await client.subscribeAsync(topics.result(device), { qos: 1 });
      await client.publishAsync(topics.state(device), state, { qos: 1, retain: true });
      await client.endAsync();
      await until(() => first.broker.online().get(device)?.status === 'offline', 5000, 'offline');
      // The device is away; its result waits in its session.
      await first.broker.publish(topics.result(device), '{"queued":true}', { qos: 1, retain: false });
    } finally {
      await first.broker.close();
    }

    const second = await startBroker({ tcp: { port: 0 }, registry: first.registry, redisUrl: url!, redisKeyPrefix: prefix, logger: pino({ level: 'silent' }) });
    try {
      expect(second.online().get(device)).toMatchObject({ state: { status: 'online', deviceId: device } });
      expect((await second.retained(topics.state(device)))?.toString()).toBe(state);
      const got = new Promise<string>((resolve) => {
        void connectDevice(first, device, { clean: false }, `mqtt://127.0.0.1:${second.ports.tcp}`).then((c) => {
          c.once('message', (_t, p) => {
            resolve(p.toString());
            void endClient(c);
          });
        });
      });
      expect(await got).toBe('{"queued":true}');
      // Leave nothing behind: end the session and clear the retained state.
      const clean = await connectDevice(first, device, { clean: true }, `mqtt://127.0.0.1:${second.ports.tcp}`);
      await clean.publishAsync(topics.state(device), '', { qos: 1, retain: true });
      await endClient(clean);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
