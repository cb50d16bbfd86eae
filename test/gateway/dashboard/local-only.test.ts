/** The dashboard's local-only rule: loopback peer and a loopback name in Host (no DNS rebinding), same-origin POSTs. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostOf, isLocalRequest, isLoopbackAddress, sameOrigin } from '../../../gateway/dashboard/local-only.ts';

describe('dashboard local-only rule', () => {
  it('knows loopback peers', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of [undefined, '', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1', '127.0.0.1.example']) expect(isLoopbackAddress(a), String(a)).toBe(false);
  });

  it('reads the host out of a Host header', () => {
    expect(hostOf('127.0.0.1:8080')).toBe('127.0.0.1');
    expect(hostOf('[::1]:8080')).toBe('::1');
    expect(hostOf('LocalHost')).toBe('localhost');
    expect(hostOf('[::1')).toBeNull();
    expect(hostOf('')).toBeNull();
    expect(hostOf(undefined)).toBeNull();
  });

  it('lets in only a loopback peer that names a loopback host', () => {
    expect(isLocalRequest('127.0.0.1', 'localhost:8080')).toBe(true);
    expect(isLocalRequest('::1', '[::1]:8080')).toBe(true);
    expect(isLocalRequest('127.0.0.1', 'rebound.example:8080')).toBe(false);
    expect(isLocalRequest('192.168.1.5', 'localhost:8080')).toBe(false);
    expect(isLocalRequest('127.0.0.1', undefined)).toBe(false);
  });

  it('accepts a POST with no Origin or this host\'s, refuses any other', () => {
    expect(sameOrigin(undefined, '127.0.0.1:8080')).toBe(true);
    expect(sameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true);
    expect(sameOrigin('http://evil.example', '127.0.0.1:8080')).toBe(false);
    expect(sameOrigin('null', '127.0.0.1:8080')).toBe(false);
  });

  it('never throws, whatever the headers say', () => {
    fc.assert(fc.property(fc.option(fc.string()), fc.option(fc.string()), fc.option(fc.string()), (remote, host, origin) => {
      const local = isLocalRequest(remote ?? undefined, host ?? undefined);
      expect(typeof local).toBe('boolean');
      expect(typeof sameOrigin(origin ?? undefined, host ?? undefined)).toBe('boolean');
      if (local) expect(isLoopbackAddress(remote ?? undefined)).toBe(true);
    }));
  });
});
