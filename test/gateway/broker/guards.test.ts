/** The frame guard (packet length read from headers, bodies skipped) and the per-address connect rate. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectRateLimiter, normalizeAddress } from '../../../gateway/broker/connect-rate.ts';
import { MqttFrameGuard } from '../../../gateway/broker/frame-guard.ts';

/** An MQTT packet: type byte, remaining length (varint), body. */
function packet(type: number, bodyBytes: number): Buffer {
  const length: number[] = [];
  let n = bodyBytes;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    length.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([type, ...length]), Buffer.alloc(bodyBytes, 0x61)]);
}

describe('MqttFrameGuard', () => {
  it('passes packets up to the limit however the stream is cut', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1 }), (sizes, cuts) => {
      const stream = Buffer.concat(sizes.map((s) => packet(0x30, s)));
      const guard = new MqttFrameGuard(1000);
      let at = 0;
      for (let i = 0; at < stream.length; i += 1) {
        const end = Math.min(stream.length, at + cuts[i % cuts.length]!);
        expect(guard.scan(stream.subarray(at, end))).toBe('ok');
        at = end;
      }
    }));
  });

  it('says oversized from the header alone, before the body arrives', () => {
    const guard = new MqttFrameGuard(1000);
    expect(guard.scan(packet(0x30, 10))).toBe('ok');
    const big = packet(0x30, 1001);
    expect(guard.scan(big.subarray(0, 1))).toBe('ok');
    expect(guard.scan(big.subarray(1, 3))).toBe('oversized');
    // 256 MB announced in 4 length bytes: refused at the second.
    expect(new MqttFrameGuard(1000).scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBe('oversized');
  });

  it('says malformed for a remaining length of more than 4 bytes', () => {
    expect(new MqttFrameGuard(2 ** 30).scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toBe('malformed');
  });
});

describe('ConnectRateLimiter', () => {
  it('admits perSecMax connections per address per second, each address on its own', () => {
    let now = 1000;
    const rate = new ConnectRateLimiter(3, 100, () => now);
    expect([1, 2, 3, 4].map(() => rate.admit('10.0.0.1'))).toEqual([true, true, true, false]);
    expect(rate.admit('10.0.0.2')).toBe(true);
    now += 999;
    expect(rate.admit('10.0.0.1')).toBe(false);
    now += 1;
    expect(rate.admit('10.0.0.1')).toBe(true);
  });

  it('tracks at most trackedIpsMax addresses: forgets past windows, fails closed while all are current', () => {
    let now = 0;
    const rate = new ConnectRateLimiter(10, 100, () => now);
    for (let i = 0; i < 100; i += 1) expect(rate.admit(`10.0.${i >> 8}.${i & 255}`)).toBe(true);
    expect(rate.admit('192.168.0.1')).toBe(false);
    now += 1000;
    expect(rate.admit('192.168.0.1')).toBe(true);
    expect(rate.trackedAddresses).toBe(1);
  });

  it('treats an IPv4-mapped IPv6 address as the IPv4 host', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(normalizeAddress(undefined)).toBe('unknown');
  });
});
