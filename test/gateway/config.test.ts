import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig, parseGatewayConfig } from '../../gateway/config.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

describe('gateway config', () => {
  it('fills every default from an empty file', () => {
    const c = parseGatewayConfig({});
    expect(c).toMatchObject({ data: './data', currency: 'EUR', mqtt: { host: '127.0.0.1', port: 1884 }, http: { port: 8080 }, demo: true });
  });

  it('names the bad key and the expected form', () => {
    expect(() => parseGatewayConfig({ mqtt: { port: 70000 } })).toThrow(/mqtt\.port/);
    expect(() => parseGatewayConfig({ mqtt: { prot: 1 } })).toThrow(/mqtt: unknown key\(s\) prot/);
    expect(() => parseGatewayConfig({ currency: 'euro' })).toThrow(/currency: an ISO 4217 code/);
    expect(() => parseGatewayConfig({ mqtt: { redisUrl: 'http://x' } })).toThrow(/mqtt\.redisUrl: a redis:\/\/ URL/);
  });

  it('reads YAML, refuses broken YAML and a missing required file with a coded error', () => {
    const t = tempDir();
    try {
      const path = join(t.dir, 'tapsettle.yaml');
      writeFileSync(path, 'mqtt:\n  port: 0\nhttp:\n  port: 0\ndemo: false\n');
      expect(loadGatewayConfig(path, true)).toMatchObject({ mqtt: { port: 0 }, http: { port: 0 }, demo: false });
      writeFileSync(path, 'mqtt: [unclosed\n');
      expect(() => loadGatewayConfig(path, true)).toThrow(ConfigError);
      expect(() => loadGatewayConfig(join(t.dir, 'nope.yaml'), true)).toThrow(/does not exist/);
      expect(loadGatewayConfig(join(t.dir, 'nope.yaml'), false).demo).toBe(true);
    } finally {
      t.cleanup();
    }
  });

  it('never throws anything but a ConfigError on fuzzed input', () => {
    fc.assert(fc.property(fc.anything(), (raw) => {
      try {
        parseGatewayConfig(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
      }
    }), { numRuns: 2000 });
  });
});
