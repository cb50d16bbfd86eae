/**
 * Who may do what on the broker (DESIGN §5), built from `channelRules`: a
 * device publishes only on its own device → core channels and subscribes only
 * to its own core → device channels. Everything else is refused: other
 * devices' topics, wildcards, `$SYS`, topics outside our tree, QoS 2, a
 * retain flag the table does not allow, a body over the limit.
 *
 * The decisions are pure functions (tested channel by channel); the Aedes
 * hooks below only apply them and report a breach.
 */
import type { AedesOptions, Client } from 'aedes';
import { channelRules, limits as protocolLimits, deviceIdPattern, parseDeviceTopic } from '../../protocol/index.ts';

export type AclAction = 'connect' | 'publish' | 'subscribe';

export const aclRefusals = [
  'not-a-device-id',
  'client-id-mismatch',
  'not-a-device-topic',
  'wildcard',
  'other-device',
  'wrong-direction',
  'qos-not-allowed',
  'retain-mismatch',
  'payload-too-large',
  'will-not-state',
] as const;
export type AclRefusal = (typeof aclRefusals)[number];

export type AclDecision = { allowed: true } | { allowed: false; reason: AclRefusal };
export type SubscribeDecision = { allowed: true; qos: 0 | 1 } | { allowed: false; reason: AclRefusal };

/** The protocol uses QoS 0 and 1 only; QoS 2 would make the broker hold handshake state for nothing. */
export const deviceQosMax = 1;

const allow: AclDecision = { allowed: true };
const deny = (reason: AclRefusal): { allowed: false; reason: AclRefusal } => ({ allowed: false, reason });

export function isDeviceId(value: string | undefined): value is string {
  return value !== undefined && value.length > 0 && value.length <= protocolLimits.deviceIdLengthMax && deviceIdPattern.test(value);
}

function topicRefusal(topic: string): AclRefusal {
  return topic.includes('+') || topic.includes('#') ? 'wildcard' : 'not-a-device-topic';
}

export interface PublishAttempt {
  topic: string;
  qos: number;
  retain: boolean;
  payloadBytes: number;
}

/** May `deviceId` publish this? Only its own topics, only device → core channels, as channelRules says. */
export function devicePublishDecision(deviceId: string, p: PublishAttempt, payloadBytesMax: number): AclDecision {
  const parsed = parseDeviceTopic(p.topic);
  if (parsed === null) return deny(topicRefusal(p.topic));
  if (parsed.deviceId !== deviceId) return deny('other-device');
  const rule = channelRules[parsed.channel];
  if (rule.from !== 'device') return deny('wrong-direction');
  if (p.qos > deviceQosMax) return deny('qos-not-allowed');
  if (p.retain !== rule.retained) return deny('retain-mismatch');
  if (p.payloadBytes > payloadBytesMax) return deny('payload-too-large');
  return allow;
}

/** May `deviceId` subscribe to this filter? Only its own core → device channels, no wildcards. Granted QoS is the channel's. */
export function deviceSubscribeDecision(deviceId: string, filter: string): SubscribeDecision {
  const parsed = parseDeviceTopic(filter);
  if (parsed === null) return deny(topicRefusal(filter));
  if (parsed.deviceId !== deviceId) return deny('other-device');
  const rule = channelRules[parsed.channel];
  if (rule.from !== 'core') return deny('wrong-direction');
  return { allowed: true, qos: rule.qos };
}

export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  will: PublishAttempt | undefined;
}

/**
 * The checks on a CONNECT that need no key: the username is a device id, the
 * client id is the same (so the ACL, which keys on the client id, speaks of
 * the device that logged in), and a last will, if any, is the device's own
 * retained `state` — the only will that means something.
 */
export function deviceConnectDecision(c: ConnectAttempt, payloadBytesMax: number): AclDecision {
  if (!isDeviceId(c.username)) return deny('not-a-device-id');
  if (c.clientId !== c.username) return deny('client-id-mismatch');
  if (c.will === undefined) return allow;
  const decision = devicePublishDecision(c.username, c.will, payloadBytesMax);
  if (!decision.allowed) return decision;
  return parseDeviceTopic(c.will.topic)?.channel === 'state' ? allow : deny('will-not-state');
}

export interface AclBreach {
  action: AclAction;
  deviceId: string | null;
  reason: AclRefusal;
  topic: string | null;
}

export class AclBreachError extends Error {
  constructor(readonly breach: AclBreach) {
    super(`ACL: ${breach.action} ${breach.topic ?? ''} refused for ${breach.deviceId ?? '(unknown)'}: ${breach.reason}`);
    this.name = 'AclBreachError';
  }
}

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;
type AuthorizeSubscribe = NonNullable<AedesOptions['authorizeSubscribe']>;

/**
 * authorizePublish for devices. An error closes the connection (Aedes, MQTT-3.3.5-2: no
 * answer is sent). `client === null` is the gateway's own publication (a will that another
 * node published for a client it lost): allowed, it went through this hook when stored.
 */
export function authorizeDevicePublish(payloadBytesMax: number, onBreach: (b: AclBreach, client: Client) => void): AuthorizePublish {
  return function authorizeDevicePublishHook(client, packet, callback) {
    if (client === null) return callback(null);
    const payloadBytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.byteLength;
    const decision = devicePublishDecision(client.id, { topic: packet.topic, qos: packet.qos, retain: packet.retain, payloadBytes }, payloadBytesMax);
    if (decision.allowed) return callback(null);
    const breach: AclBreach = { action: 'publish', deviceId: client.id, reason: decision.reason, topic: packet.topic };
    onBreach(breach, client);
    callback(new AclBreachError(breach));
  };
}

/**
 * authorizeSubscribe for devices. A refused filter is negated (SUBACK 128, MQTT-3.9.3) rather
 * than answered with an error, so a standard client learns why; `onBreach` then closes the
 * connection once the SUBACK is out.
 */
export function authorizeDeviceSubscribe(onBreach: (b: AclBreach, client: Client) => void): AuthorizeSubscribe {
  return function authorizeDeviceSubscribeHook(client, sub, callback) {
    const decision = deviceSubscribeDecision(client.id, sub.topic);
    if (decision.allowed) return callback(null, { ...sub, qos: Math.min(sub.qos, decision.qos) as 0 | 1 });
    onBreach({ action: 'subscribe', deviceId: client.id, reason: decision.reason, topic: sub.topic }, client);
    callback(null, null);
  };
}
