/**
 * A deep backlog of device messages must not overflow the stack: with every
 * delivery slot busy, Aedes' emitter used to complete each queued message
 * with no subscriber inside the one before it (bench:gateway died of
 * `Maximum call stack size exceeded` at 20,000 outstanding requests).
 */
import { expect, it } from 'vitest';
import { topics } from '../../../protocol/index.ts';
import { openStation } from './harness.ts';

it('drains 100,000 queued device messages behind busy delivery slots without overflowing the stack', async () => {
  const station = await openStation([]);
  try {
    const mq = (station.broker.aedes as unknown as { mq: { on(t: string, f: (p: unknown, done: () => void) => void): void } }).mq;
    mq.on('busy/#', (_p, done) => setTimeout(done, 20)); // holds every delivery slot for a moment
    const publish = (topic: string, done: () => void) =>
      station.broker.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from('{}'), qos: 0, retain: false, dup: false }, done);
    for (let i = 0; i < 200; i += 1) publish(`busy/${i}`, () => undefined);
    const total = 100_000;
    let delivered = 0;
    const heard: string[] = [];
    const off = station.broker.onMessage('settle', (deviceId) => heard.push(deviceId));
    for (let i = 0; i < total; i += 1) publish(topics.settle(`dev-${i % 1000}`), () => { delivered += 1; });
    await expect.poll(() => delivered, { timeout: 30_000, interval: 50 }).toBe(total);
    off();
    // The gateway's own publications (client null) are not device messages: the bridge hears none of them.
    expect(heard).toEqual([]);
  } finally {
    await station.close();
  }
}, 60_000);
