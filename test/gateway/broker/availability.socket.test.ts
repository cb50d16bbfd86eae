/** Availability: online() follows connects, disconnects, the retained `state` topic and the last will. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, uuidv7 } from '../../../protocol/index.ts';
import type { DeviceState } from '../../../protocol/index.ts';
import { closed, connectDevice, endClient, openStation, until } from './harness.ts';
import type { Station } from './harness.ts';

let s: Station;
let now = 1_800_000_000_000;
beforeAll(async () => {
  s = await openStation(['gate-1', 'gate-2'], { now: () => now });
});
afterAll(() => s.close());

const state = (deviceId: string, status: DeviceState['status']): string =>
  JSON.stringify({ v: 1, type: 'state', requestId: uuidv7(), sentAt: now, deviceId, kind: 'gate', status } satisfies DeviceState);

describe('broker availability', () => {
  it('publishes the last will, retained, when a device vanishes without DISCONNECT, and online() says offline', async () => {
    const will = { topic: topics.state('gate-1'), payload: Buffer.from(state('gate-1', 'offline')), qos: 1 as const, retain: true };
    const client = await connectDevice(s, 'gate-1', { will });
    await until(() => s.broker.online().get('gate-1')?.status === 'online', 5000, 'online');
    expect(s.broker.online().get('gate-1')).toEqual({ status: 'online', since: now });

    await client.publishAsync(topics.state('gate-1'), state('gate-1', 'online'), { qos: 1, retain: true });
    await until(() => s.broker.online().get('gate-1')?.state?.status === 'online', 5000, 'state online');
    expect(JSON.parse((await s.broker.retained(topics.state('gate-1')))!.toString())).toMatchObject({ status: 'online' });

    now += 60_000;
    // Unclean: the TCP connection just drops (power cut, cable pulled).
    const gone = closed(client);
    client.stream.destroy();
    await gone;
    await until(() => s.broker.online().get('gate-1')?.state?.status === 'offline', 5000, 'the will');
    expect(s.broker.online().get('gate-1')).toMatchObject({ status: 'offline', since: now, state: { deviceId: 'gate-1', status: 'offline' } });
    expect(JSON.parse((await s.broker.retained(topics.state('gate-1')))!.toString())).toMatchObject({ status: 'offline' });
    await endClient(client);
  });

  it('publishes no will on a clean DISCONNECT, but online() still says offline', async () => {
    const will = { topic: topics.state('gate-2'), payload: Buffer.from(state('gate-2', 'offline')), qos: 1 as const, retain: true };
    const client = await connectDevice(s, 'gate-2', { will });
    await client.publishAsync(topics.state('gate-2'), state('gate-2', 'out-of-service'), { qos: 1, retain: true });
    await until(() => s.broker.online().get('gate-2')?.state?.status === 'out-of-service', 5000, 'out-of-service');
    expect(s.broker.online().get('gate-2')?.status).toBe('online');
    now += 1000;
    await client.endAsync();
    await until(() => s.broker.online().get('gate-2')?.status === 'offline', 5000, 'offline');
    expect(s.broker.online().get('gate-2')).toMatchObject({ status: 'offline', since: now, state: { status: 'out-of-service' } });
    expect(JSON.parse((await s.broker.retained(topics.state('gate-2')))!.toString())).toMatchObject({ status: 'out-of-service' });
  });

  it('keeps no state body that does not decode; online() is a copy', async () => {
    const client = await connectDevice(s, 'gate-2');
    await client.publishAsync(topics.state('gate-2'), '{"not":"a state"}', { qos: 1, retain: true });
    await client.publishAsync(topics.state('gate-2'), state('gate-1', 'online'), { qos: 1, retain: true });
    await until(() => s.broker.online().get('gate-2')?.status === 'online', 5000, 'online');
    expect(s.broker.online().get('gate-2')?.state?.status).toBe('out-of-service');
    const copy = s.broker.online();
    copy.get('gate-2')!.status = 'offline';
    expect(s.broker.online().get('gate-2')?.status).toBe('online');
    await endClient(client);
  });
});
