import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelRules, channels, deviceTopic, limits, parseDeviceTopic, topicRoot, topics } from '../../protocol/index.ts';

describe('topic builders', () => {
  it('build tapsettle/v1/dev/{d}/{channel} for every channel', () => {
    expect(topicRoot).toBe('tapsettle/v1/dev');
    expect([...channels]).toEqual(['settle', 'result', 'outcome', 'state', 'config', 'event', 'card', 'card-result']);
    for (const channel of channels) {
      expect(deviceTopic('vm-0042', channel)).toBe(`tapsettle/v1/dev/vm-0042/${channel}`);
      expect(topics[channel]('vm-0042')).toBe(`tapsettle/v1/dev/vm-0042/${channel}`);
    }
    expect(topics.all('settle')).toBe('tapsettle/v1/dev/+/settle');
  });

  it('throw on a device id that is not one', () => {
    for (const bad of ['', '+', '#', 'a/b', 'a+', 'a#', 'VM-0042', ' vm', '-vm', 'x'.repeat(limits.deviceIdLengthMax + 1)]) {
      expect(() => deviceTopic(bad, 'settle'), JSON.stringify(bad)).toThrow(RangeError);
      expect(() => topics.result(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(topics.state('x'.repeat(limits.deviceIdLengthMax))).toBe(`tapsettle/v1/dev/${'x'.repeat(limits.deviceIdLengthMax)}/state`);
  });

  it('carry the direction, QoS and retain flag of DESIGN §4', () => {
    expect(channelRules).toEqual({
      settle: { from: 'device', qos: 1, retained: false },
      result: { from: 'core', qos: 1, retained: false },
      outcome: { from: 'device', qos: 1, retained: false },
      state: { from: 'device', qos: 1, retained: true },
      config: { from: 'core', qos: 1, retained: true },
      event: { from: 'device', qos: 0, retained: false },
      card: { from: 'device', qos: 1, retained: false },
      'card-result': { from: 'core', qos: 1, retained: false },
    });
  });
});

describe('parseDeviceTopic', () => {
  it('round-trips every channel', () => {
    for (const channel of channels) {
      for (const deviceId of ['vm-0042', 'a', 'gate.3_b', 'x'.repeat(limits.deviceIdLengthMax)]) {
        expect(parseDeviceTopic(deviceTopic(deviceId, channel))).toEqual({ deviceId, channel });
      }
    }
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/), fc.constantFrom(...channels), (deviceId, channel) => {
        expect(parseDeviceTopic(deviceTopic(deviceId, channel))).toEqual({ deviceId, channel });
      }),
      { numRuns: 300 },
    );
  });

  it('returns null for anything not exactly of the tree', () => {
    const bad = [
      '', 'tapsettle', 'tapsettle/v1/dev', 'tapsettle/v1/dev/vm-0042',
      'tapsettle/v1/dev/+/settle', 'tapsettle/v1/dev/#', 'tapsettle/v1/dev/vm-0042/#', 'tapsettle/v1/dev/vm-0042/+', 'tapsettle/v1/dev/#/settle',
      'tapsettle/v1/dev/vm-0042/settle/extra', 'tapsettle/v1/dev/vm-0042/settle/', '/tapsettle/v1/dev/vm-0042/settle', 'tapsettle/v1/dev//vm-0042/settle',
      'tapsettle/v2/dev/vm-0042/settle', 'Tapsettle/v1/dev/vm-0042/settle', 'tapsettle/v1/devs/vm-0042/settle', 'other/v1/dev/vm-0042/settle',
      'tapsettle/v1/dev/vm-0042/unknown', 'tapsettle/v1/dev/vm-0042/Settle', 'tapsettle/v1/dev/vm-0042/',
      'tapsettle/v1/dev//settle', 'tapsettle/v1/dev/VM-0042/settle', `tapsettle/v1/dev/${'x'.repeat(limits.deviceIdLengthMax + 1)}/settle`,
      'tapsettle/v1/dev/vm 0042/settle', 'tapsettle/v1/dev/-vm/settle',
    ];
    for (const topic of bad) expect(parseDeviceTopic(topic), topic).toBeNull();
  });

  it('never throws and returns only ids the builder accepts', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('tapsettle', 'v1', 'dev', '+', '#', '', ...channels), fc.string({ maxLength: 10 })), { maxLength: 7 }), (levels) => {
        const parsed = parseDeviceTopic(levels.join('/'));
        if (parsed !== null) expect(deviceTopic(parsed.deviceId, parsed.channel)).toBe(levels.join('/'));
      }),
      { numRuns: 1000 },
    );
  });
});
