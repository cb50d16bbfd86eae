/** defaultBrokerLimits: every key validated (errors name it), ceilings clamped. */
import { describe, expect, it } from 'vitest';
import { limits as protocolLimits } from '../../../protocol/index.ts';
import { BrokerError } from '../../../gateway/broker/errors.ts';
import { defaultBrokerLimits, packetBytesMax, resolveBrokerLimits } from '../../../gateway/broker/limits.ts';

const errorOf = (overrides: Record<string, unknown>): BrokerError => {
  try {
    resolveBrokerLimits(overrides);
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
  throw new Error('expected a BrokerError');
};

describe('broker limits', () => {
  it('defaults follow the protocol limits and fit a CONNECT with a full will in one packet', () => {
    expect(defaultBrokerLimits.payloadBytesMax).toBe(protocolLimits.messageBytesMax);
    expect(defaultBrokerLimits.configPayloadBytesMax).toBe(protocolLimits.configBytesMax);
    // CONNECT: 10 header bytes, client id, will topic, will body, username, password (each with a 2-byte length).
    const connectBytes = 10 + (2 + 64) + (2 + 89) + (2 + protocolLimits.messageBytesMax) + (2 + 64) + (2 + 43);
    expect(packetBytesMax(resolveBrokerLimits().limits)).toBeGreaterThanOrEqual(connectBytes);
    expect(resolveBrokerLimits()).toEqual({ limits: { ...defaultBrokerLimits }, clamped: [] });
  });

  it('applies overrides, clamps to a ceiling and reports it', () => {
    const r = resolveBrokerLimits({ clientsMax: 5, payloadBytesMax: 1_000_000, topicLevelsMax: 500, keepaliveSecMax: undefined });
    expect(r.limits.clientsMax).toBe(5);
    expect(r.limits.payloadBytesMax).toBe(protocolLimits.messageBytesMax);
    expect(r.limits.topicLevelsMax).toBe(100);
    expect(r.limits.keepaliveSecMax).toBe(defaultBrokerLimits.keepaliveSecMax);
    expect(r.clamped).toEqual([{ key: 'payloadBytesMax', asked: 1_000_000, used: protocolLimits.messageBytesMax }, { key: 'topicLevelsMax', asked: 500, used: 100 }]);
  });

  it('refuses a bad value with an error naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ clientsMax: 0 }, /limits\.clientsMax: must be at least 1/],
      [{ connectsPerIpPerSecMax: 1.5 }, /limits\.connectsPerIpPerSecMax: expected an integer/],
      [{ keepaliveSecMax: '60' }, /limits\.keepaliveSecMax: expected an integer/],
      [{ connectTimeoutMs: Number.NaN }, /limits\.connectTimeoutMs: expected an integer/],
      [{ drainTimeoutMs: -1 }, /limits\.drainTimeoutMs: must be at least/],
      [{ maxPayload: 10 }, /limits\.maxPayload: unknown limit/],
    ];
    for (const [overrides, message] of cases) {
      const err = errorOf(overrides);
      expect(err.code).toBe('TS_ERR_GATEWAY_LIMIT');
      expect(err.message).toMatch(message);
    }
  });
});
