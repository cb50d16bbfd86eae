/**
 * What a hostile or broken peer cannot do: hold an idle or half-open socket,
 * flood connects from one address, open more sockets than allowed, or take
 * the process down with malformed packets. After each, a good device still
 * gets in.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../../protocol/index.ts';
import { connectDevice, connectPacket, endClient, openStation, rawConnection, until } from './harness.ts';
import type { Station } from './harness.ts';

let s: Station | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

const connack = (returnCode: number) => Buffer.from([0x20, 0x02, 0x00, returnCode]);

async function goodDeviceStillServed(station: Station, id: string): Promise<void> {
  const client = await connectDevice(station, id);
  await client.publishAsync(topics.event(id), '{}', { qos: 1 });
  await endClient(client);
}

describe('broker robustness', () => {
  it('closes a socket that sends no CONNECT within connectTimeoutMs', async () => {
    s = await openStation(['vm-1'], { limits: { connectTimeoutMs: 300 } });
    const idle = await rawConnection(s.broker.ports.tcp!);
    const openMs = await idle.closed;
    expect(openMs).toBeGreaterThanOrEqual(250);
    expect(openMs).toBeLessThan(5000);
    expect(idle.received().length).toBe(0);
    await until(() => s!.broker.stats().closed['connect-timeout'] === 1, 2000, 'the count');
    await goodDeviceStillServed(s, 'vm-1');
  });

  it('drops a half-open session after 1.5 × its keepalive; online() says offline', async () => {
    s = await openStation(['vm-1']);
    const raw = await rawConnection(s.broker.ports.tcp!, connectPacket({ clientId: 'vm-1', username: 'vm-1', password: s.secrets.get('vm-1')!, keepaliveSec: 1 }));
    await until(() => raw.received().length >= 4, 5000, 'CONNACK');
    expect(raw.received().subarray(0, 4)).toEqual(connack(0));
    // The peer is gone without a FIN: it never sends a PINGREQ again.
    const openMs = await raw.closed;
    expect(openMs).toBeGreaterThanOrEqual(1400);
    expect(openMs).toBeLessThan(5000);
    expect(s.broker.stats().closed['keepalive-timeout']).toBe(1);
    expect(s.broker.online().get('vm-1')?.status).toBe('offline');
  });

  it('refuses connects from one address past connectsPerIpPerSecMax, stays up, and admits again in the next second', async () => {
    let now = 1_800_000_000_000;
    s = await openStation(['vm-1'], { now: () => now, limits: { connectsPerIpPerSecMax: 5 } });
    const port = s.broker.ports.tcp!;
    const flood = await Promise.all(Array.from({ length: 40 }, () => rawConnection(port, connectPacket({ clientId: 'x', keepaliveSec: 30 }))));
    const refusedFast = await Promise.all(flood.map((c) => Promise.race([c.closed.then(() => c.received().length === 0), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))])));
    expect(refusedFast.filter(Boolean).length).toBe(35);
    expect(s.broker.stats().rejected['connect-rate']).toBe(35);
    for (const c of flood) c.socket.destroy();
    now += 1000;
    await goodDeviceStillServed(s, 'vm-1');
  });

  it('refuses sockets past clientsMax and serves again once one closes', async () => {
    s = await openStation(['vm-1'], { limits: { clientsMax: 3 } });
    const port = s.broker.ports.tcp!;
    const held = await Promise.all([1, 2, 3].map(() => rawConnection(port)));
    await until(() => s!.broker.stats().sockets === 3, 2000, 'three sockets');
    const extra = await rawConnection(port);
    await extra.closed;
    expect(s.broker.stats().rejected['clients-full']).toBe(1);
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await until(() => s!.broker.stats().sockets === 2, 2000, 'a free slot');
    await goodDeviceStillServed(s, 'vm-1');
    for (const c of held) c.socket.destroy();
  });

  it('survives malformed packets (fuzzed): each such connection is closed, the process and the good devices stay', async () => {
    s = await openStation(['vm-1'], { limits: { connectsPerIpPerSecMax: 100_000, connectTimeoutMs: 200 } });
    const port = s.broker.ports.tcp!;
    const handwritten = [
      Buffer.from([0xf0, 0x00]), // reserved packet type 15
      Buffer.from([0x10, 0x02, 0x00, 0x04]), // CONNECT cut short
      Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x58, 0x58, 0x58, 0x58, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]), // protocol name XXXX
      Buffer.from([0x32, 0x80, 0x80, 0x80, 0x80, 0x01]), // five length bytes
      Buffer.from([0x36, 0x00]), // PUBLISH with QoS 3
      Buffer.concat([connectPacket({ clientId: 'vm-1', username: 'vm-1', password: s.secrets.get('vm-1')!, keepaliveSec: 30 }), Buffer.from([0x10, 0x00])]), // a second CONNECT
    ];
    const fuzzed = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), { numRuns: 100, seed: 42 }).map((b) => Buffer.from(b));
    for (const bytes of [...handwritten, ...fuzzed]) {
      const c = await rawConnection(port, bytes);
      const openMs = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
      expect(openMs, bytes.toString('hex')).toBeGreaterThanOrEqual(0);
    }
    await goodDeviceStillServed(s, 'vm-1');
    expect(s.broker.stats().closed['protocol-error']).toBeGreaterThan(0);
  });
});
