/** The topic tree of DESIGN §4: `tapsettle/v1/dev/{deviceId}/{channel}`. */
import { deviceIdPattern } from './ids.ts';
import { limits } from './limits.ts';

export const topicRoot = 'tapsettle/v1/dev';

export const channels = ['settle', 'result', 'outcome', 'state', 'config', 'event', 'card', 'card-result'] as const;
export type Channel = (typeof channels)[number];

/** Who publishes on each channel, and how (DESIGN §4). The gateway's ACL is built from this table. */
export const channelRules: Readonly<Record<Channel, { from: 'device' | 'core'; qos: 0 | 1; retained: boolean }>> = {
  settle: { from: 'device', qos: 1, retained: false },
  result: { from: 'core', qos: 1, retained: false },
  outcome: { from: 'device', qos: 1, retained: false },
  state: { from: 'device', qos: 1, retained: true },
  config: { from: 'core', qos: 1, retained: true },
  event: { from: 'device', qos: 0, retained: false },
  /** Claim 36 at a device: card authorizations and card reversals (protocol/card-messages.ts). Never retained: a body carries card data. */
  card: { from: 'device', qos: 1, retained: false },
  'card-result': { from: 'core', qos: 1, retained: false },
};

function checkDeviceId(deviceId: string): void {
  if (deviceId.length === 0 || deviceId.length > limits.deviceIdLengthMax || !deviceIdPattern.test(deviceId)) {
    throw new RangeError(`not a device id: ${JSON.stringify(deviceId.slice(0, 80))}`);
  }
}

export function deviceTopic(deviceId: string, channel: Channel): string {
  checkDeviceId(deviceId);
  return `${topicRoot}/${deviceId}/${channel}`;
}

export const topics = {
  settle: (d: string) => deviceTopic(d, 'settle'),
  result: (d: string) => deviceTopic(d, 'result'),
  outcome: (d: string) => deviceTopic(d, 'outcome'),
  state: (d: string) => deviceTopic(d, 'state'),
  config: (d: string) => deviceTopic(d, 'config'),
  event: (d: string) => deviceTopic(d, 'event'),
  card: (d: string) => deviceTopic(d, 'card'),
  'card-result': (d: string) => deviceTopic(d, 'card-result'),
  /** Every device's topics on one channel, for the core's subscriptions. */
  all: (channel: Channel) => `${topicRoot}/+/${channel}`,
} as const;

const channelSet: ReadonlySet<string> = new Set(channels);

/** Parses a concrete topic (no wildcards). Returns null for anything not exactly of our tree. */
export function parseDeviceTopic(topic: string): { deviceId: string; channel: Channel } | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}/${parts[2]}` !== topicRoot) return null;
  const deviceId = parts[3]!;
  const channel = parts[4]!;
  if (deviceId.length > limits.deviceIdLengthMax || !deviceIdPattern.test(deviceId) || !channelSet.has(channel)) return null;
  return { deviceId, channel: channel as Channel };
}
