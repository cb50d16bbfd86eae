/** The ACL as pure functions: every channel × direction × own/other device, wildcards, $SYS, QoS, retain, size; CONNECT checks. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelRules, channels, limits, topics } from '../../../protocol/index.ts';
import { deviceConnectDecision, devicePublishDecision, deviceSubscribeDecision } from '../../../gateway/broker/acl.ts';

const me = 'vm-1';
const other = 'vm-2';
const max = limits.messageBytesMax;
const publish = (topic: string, over: Partial<{ qos: number; retain: boolean; payloadBytes: number }> = {}) => {
  const channel = channels.find((c) => topic.endsWith(`/${c}`));
  const rule = channel === undefined ? { qos: 1, retained: false } : channelRules[channel];
  return devicePublishDecision(me, { topic, qos: rule.qos, retain: rule.retained, payloadBytes: 100, ...over }, max);
};

describe('ACL: publish', () => {
  for (const channel of channels) {
    const fromDevice = channelRules[channel].from === 'device';
    it(`${channel}: own topic ${fromDevice ? 'allowed' : 'refused (core → device)'}, another device's refused`, () => {
      expect(publish(topics[channel](me))).toEqual(fromDevice ? { allowed: true } : { allowed: false, reason: 'wrong-direction' });
      expect(publish(topics[channel](other))).toEqual({ allowed: false, reason: 'other-device' });
    });
  }

  it('only the devices channels allow publishing: settle, outcome, state, event, card', () => {
    expect(channels.filter((c) => publish(topics[c](me)).allowed)).toEqual(['settle', 'outcome', 'state', 'event', 'card']);
  });

  it('refuses wildcards, $SYS, other roots, versions and shapes', () => {
    const refused: [string, string][] = [
      [`tapsettle/v1/dev/${me}/+`, 'wildcard'],
      [`tapsettle/v1/dev/+/settle`, 'wildcard'],
      [`tapsettle/v1/dev/${me}/#`, 'wildcard'],
      ['#', 'wildcard'],
      ['$SYS/broker/new/clients', 'not-a-device-topic'],
      [`$SYS/tapsettle/v1/dev/${me}/settle`, 'not-a-device-topic'],
      [`tapsettle/v2/dev/${me}/settle`, 'not-a-device-topic'],
      [`tapsettle/v1/dev/${me}/settle/extra`, 'not-a-device-topic'],
      [`/tapsettle/v1/dev/${me}/settle`, 'not-a-device-topic'],
      [`tapsettle/v1/dev/${me}/Settle`, 'not-a-device-topic'],
      [`tapsettle/v1/dev/${me}/`, 'not-a-device-topic'],
      ['', 'not-a-device-topic'],
      ['anything', 'not-a-device-topic'],
    ];
    for (const [topic, reason] of refused) expect(publish(topic), topic).toEqual({ allowed: false, reason });
  });

  it('refuses QoS 2, a retain flag the table does not allow, and a body over the limit', () => {
    expect(publish(topics.settle(me), { qos: 2 })).toEqual({ allowed: false, reason: 'qos-not-allowed' });
    expect(publish(topics.settle(me), { qos: 0 })).toEqual({ allowed: true });
    expect(publish(topics.settle(me), { retain: true })).toEqual({ allowed: false, reason: 'retain-mismatch' });
    expect(publish(topics.state(me), { retain: false })).toEqual({ allowed: false, reason: 'retain-mismatch' });
    expect(publish(topics.event(me), { payloadBytes: max })).toEqual({ allowed: true });
    expect(publish(topics.event(me), { payloadBytes: max + 1 })).toEqual({ allowed: false, reason: 'payload-too-large' });
  });

  it('allows nothing outside the device\'s own device → core topics (fuzzed topics)', () => {
    const allowed = new Set(['settle', 'outcome', 'state', 'event'].map((c) => `tapsettle/v1/dev/${me}/${c}`));
    const level = fc.oneof(fc.constantFrom('tapsettle', 'v1', 'dev', me, other, '+', '#', '$SYS', '', ...channels), fc.string({ maxLength: 8 }));
    fc.assert(fc.property(fc.array(level, { minLength: 0, maxLength: 7 }), fc.boolean(), (levels, retain) => {
      const topic = levels.join('/');
      const d = devicePublishDecision(me, { topic, qos: 0, retain, payloadBytes: 1 }, max);
      if (d.allowed) expect(allowed.has(topic)).toBe(true);
    }), { numRuns: 2000 });
  });
});

describe('ACL: subscribe', () => {
  for (const channel of channels) {
    const toDevice = channelRules[channel].from === 'core';
    it(`${channel}: own topic ${toDevice ? 'allowed' : 'refused (device → core)'}, another device's refused`, () => {
      expect(deviceSubscribeDecision(me, topics[channel](me))).toEqual(toDevice ? { allowed: true, qos: channelRules[channel].qos } : { allowed: false, reason: 'wrong-direction' });
      expect(deviceSubscribeDecision(me, topics[channel](other))).toEqual({ allowed: false, reason: 'other-device' });
    });
  }

  it('only result, config and card-result may be subscribed to, and no filter with a wildcard or $', () => {
    expect(channels.filter((c) => deviceSubscribeDecision(me, topics[c](me)).allowed)).toEqual(['result', 'config', 'card-result']);
    for (const filter of [`tapsettle/v1/dev/${me}/+`, `tapsettle/v1/dev/${me}/#`, 'tapsettle/v1/dev/+/result', topics.all('result'), '#', '+/+/+/+/+', '$SYS/#', '$SYS/+/heartbeat']) {
      expect(deviceSubscribeDecision(me, filter).allowed, filter).toBe(false);
    }
    expect(deviceSubscribeDecision(me, '$SYS/#')).toEqual({ allowed: false, reason: 'wildcard' });
    expect(deviceSubscribeDecision(me, '$SYS/broker')).toEqual({ allowed: false, reason: 'not-a-device-topic' });
  });
});

describe('ACL: connect', () => {
  const will = (topic: string, over: Partial<{ qos: number; retain: boolean; payloadBytes: number }> = {}) => ({ topic, qos: 1, retain: true, payloadBytes: 80, ...over });

  it('wants the username to be a device id and the client id to be the same', () => {
    expect(deviceConnectDecision({ clientId: me, username: me, will: undefined }, max)).toEqual({ allowed: true });
    expect(deviceConnectDecision({ clientId: other, username: me, will: undefined }, max)).toEqual({ allowed: false, reason: 'client-id-mismatch' });
    expect(deviceConnectDecision({ clientId: '', username: me, will: undefined }, max)).toEqual({ allowed: false, reason: 'client-id-mismatch' });
    expect(deviceConnectDecision({ clientId: me, username: undefined, will: undefined }, max)).toEqual({ allowed: false, reason: 'not-a-device-id' });
    expect(deviceConnectDecision({ clientId: 'A', username: 'A', will: undefined }, max)).toEqual({ allowed: false, reason: 'not-a-device-id' });
    expect(deviceConnectDecision({ clientId: '#', username: '#', will: undefined }, max)).toEqual({ allowed: false, reason: 'not-a-device-id' });
  });

  it('allows only the device\'s own retained state as a last will', () => {
    const decide = (w: ReturnType<typeof will>) => deviceConnectDecision({ clientId: me, username: me, will: w }, max);
    expect(decide(will(topics.state(me)))).toEqual({ allowed: true });
    expect(decide(will(topics.state(other)))).toEqual({ allowed: false, reason: 'other-device' });
    expect(decide(will(topics.event(me), { retain: false, qos: 0 }))).toEqual({ allowed: false, reason: 'will-not-state' });
    expect(decide(will(topics.result(me), { retain: false }))).toEqual({ allowed: false, reason: 'wrong-direction' });
    expect(decide(will(topics.state(me), { retain: false }))).toEqual({ allowed: false, reason: 'retain-mismatch' });
    expect(decide(will(topics.state(me), { payloadBytes: max + 1 }))).toEqual({ allowed: false, reason: 'payload-too-large' });
    expect(decide(will('$SYS/x'))).toEqual({ allowed: false, reason: 'not-a-device-topic' });
  });
});
