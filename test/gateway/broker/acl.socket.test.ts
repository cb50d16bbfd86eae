/** The ACL over real sockets: breaches close the connection and are counted and logged; own topics work both ways. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient, Packet } from 'mqtt';
import { limits, topics } from '../../../protocol/index.ts';
import { BrokerError } from '../../../gateway/broker/errors.ts';
import { closed, connectDevice, endClient, openStation, until } from './harness.ts';
import type { Station } from './harness.ts';

let s: Station;
const seen: { deviceId: string; channel: string; payload: string }[] = [];
beforeAll(async () => {
  s = await openStation(['vm-a', 'vm-b']);
  for (const channel of ['settle', 'outcome', 'event'] as const) {
    s.broker.onMessage(channel, (deviceId, payload) => seen.push({ deviceId, channel, payload: payload.toString() }));
  }
});
afterAll(() => s.close());

/** Subscribes and returns the granted QoS list from the SUBACK as it came off the wire. */
function subscribeRaw(client: MqttClient, topic: string): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (p: Packet): void => {
      if (p.cmd !== 'suback') return;
      client.off('packetreceive', onPacket);
      // MQTT 3.1.1 SUBACKs carry plain return codes (mqtt-packet also types an MQTT 5 object form).
      const granted: readonly unknown[] = p.granted;
      resolve(granted.filter((g): g is number => typeof g === 'number'));
    };
    client.on('packetreceive', onPacket);
    client.subscribe(topic, { qos: 1 }, () => undefined);
  });
}

describe('broker ACL over sockets', () => {
  it('delivers what a device publishes on its own topics to onMessage, with the device id from the topic', async () => {
    const a = await connectDevice(s, 'vm-a');
    await a.publishAsync(topics.settle('vm-a'), '{"n":1}', { qos: 1 });
    await a.publishAsync(topics.event('vm-a'), '{"n":2}', { qos: 0 });
    await a.publishAsync(topics.outcome('vm-a'), '{"n":3}', { qos: 1 });
    await until(() => seen.length >= 3, 5000, 'three messages');
    expect(seen).toEqual([
      { deviceId: 'vm-a', channel: 'settle', payload: '{"n":1}' },
      { deviceId: 'vm-a', channel: 'event', payload: '{"n":2}' },
      { deviceId: 'vm-a', channel: 'outcome', payload: '{"n":3}' },
    ]);
    await endClient(a);
  });

  it('delivers the gateway\'s publication on a device\'s result topic to that device only', async () => {
    const a = await connectDevice(s, 'vm-a');
    const b = await connectDevice(s, 'vm-b');
    expect(await subscribeRaw(a, topics.result('vm-a'))).toEqual([1]);
    expect(await subscribeRaw(b, topics.result('vm-b'))).toEqual([1]);
    const got: string[] = [];
    a.on('message', (topic, payload) => got.push(`a ${topic} ${payload.toString()}`));
    b.on('message', (topic, payload) => got.push(`b ${topic} ${payload.toString()}`));
    await s.broker.publish(topics.result('vm-a'), '{"r":1}', { qos: 1, retain: false });
    await until(() => got.length >= 1, 5000, 'the result');
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([`a ${topics.result('vm-a')} {"r":1}`]);
    await endClient(a);
    await endClient(b);
  });

  it('disconnects, counts and logs a device that publishes on another device\'s topic; nothing is delivered', async () => {
    const before = s.broker.stats().breachesByAction.publish;
    const count = seen.length;
    const a = await connectDevice(s, 'vm-a');
    const gone = closed(a);
    a.publish(topics.settle('vm-b'), '{"forged":true}', { qos: 1 });
    await gone;
    expect(s.broker.stats().breachesByAction.publish - before).toBe(1);
    expect(seen.length).toBe(count);
    expect(s.logs).toContainEqual(expect.objectContaining({ msg: 'ACL breach: connection closed', action: 'publish', deviceId: 'vm-a', reason: 'other-device', topic: topics.settle('vm-b') }));
    await endClient(a);
  });

  it('disconnects a device publishing on its own result (core → device) or on $SYS', async () => {
    for (const topic of [topics.result('vm-a'), '$SYS/fake/heartbeat', topics.config('vm-a')]) {
      const before = s.broker.stats().breaches;
      const a = await connectDevice(s, 'vm-a');
      const gone = closed(a);
      a.publish(topic, '{}', { qos: 0, retain: topic.endsWith('config') });
      await gone;
      expect(s.broker.stats().breaches - before, topic).toBe(1);
      await endClient(a);
    }
  });

  it('answers SUBACK 128 to a subscription to another device\'s result, then closes the connection and counts it', async () => {
    const before = s.broker.stats().breachesByAction.subscribe;
    const a = await connectDevice(s, 'vm-a');
    const gone = closed(a);
    expect(await subscribeRaw(a, topics.result('vm-b'))).toEqual([128]);
    await gone;
    expect(s.broker.stats().breachesByAction.subscribe - before).toBe(1);
    await endClient(a);
  });

  it('refuses wildcard and $SYS subscriptions the same way', async () => {
    for (const filter of ['tapsettle/v1/dev/+/result', 'tapsettle/v1/dev/vm-a/#', '$SYS/#', '#']) {
      const a = await connectDevice(s, 'vm-a');
      const gone = closed(a);
      expect(await subscribeRaw(a, filter), filter).toEqual([128]);
      await gone;
      await endClient(a);
    }
  });

  it('closes a connection whose payload is over the limit, whether just over (ACL) or far over (frame guard, before buffering)', async () => {
    const before = s.broker.stats().rejected['payload-too-large'];
    for (const bytes of [limits.messageBytesMax + 1, 1024 * 1024]) {
      const a = await connectDevice(s, 'vm-a');
      const gone = closed(a);
      a.publish(topics.event('vm-a'), Buffer.alloc(bytes, 0x20), { qos: 0 });
      await gone;
      await endClient(a);
    }
    expect(s.broker.stats().rejected['payload-too-large'] - before).toBe(2);
    expect(s.logs).toContainEqual(expect.objectContaining({ msg: 'ACL breach: connection closed', reason: 'payload-too-large' }));
    expect(s.logs).toContainEqual(expect.objectContaining({ msg: 'packet refused before buffering: connection closed', verdict: 'oversized', clientId: 'vm-a' }));
    // At the limit is fine.
    const a = await connectDevice(s, 'vm-a');
    await a.publishAsync(topics.event('vm-a'), Buffer.alloc(limits.messageBytesMax, 0x20), { qos: 1 });
    expect(a.connected).toBe(true);
    await endClient(a);
  });

  it('refuses the gateway\'s own publication on a wildcard or $ topic, or over the channel\'s limit', async () => {
    const codeOf = (p: Promise<void>) => p.then(() => 'ok', (e: unknown) => (e instanceof BrokerError ? e.code : String(e)));
    expect(await codeOf(s.broker.publish('tapsettle/v1/dev/+/result', '{}', { qos: 1, retain: false }))).toBe('TS_ERR_GATEWAY_TOPIC');
    expect(await codeOf(s.broker.publish('$SYS/x', '{}', { qos: 0, retain: false }))).toBe('TS_ERR_GATEWAY_TOPIC');
    expect(await codeOf(s.broker.publish(topics.result('vm-a'), Buffer.alloc(limits.messageBytesMax + 1), { qos: 1, retain: false }))).toBe('TS_ERR_GATEWAY_PAYLOAD_TOO_LARGE');
    expect(await codeOf(s.broker.publish(topics.config('vm-a'), Buffer.alloc(limits.messageBytesMax + 1), { qos: 1, retain: true }))).toBe('ok');
    expect(await codeOf(s.broker.publish(topics.config('vm-a'), Buffer.alloc(limits.configBytesMax + 1), { qos: 1, retain: true }))).toBe('TS_ERR_GATEWAY_PAYLOAD_TOO_LARGE');
    await s.broker.publish(topics.config('vm-a'), '', { qos: 1, retain: true });
  });
});
