/** Options, limits, stats and events of the device link (link.ts). */
import type { Logger } from 'pino';
import type { DeviceConfig, DeviceKind, OutcomeAck, SettleResult } from '../../protocol/index.ts';
import type { AnswerRejection } from './answers.ts';
import type { CardAnswer } from './card-messages.ts';
import type { BackoffLimits, RandomSource } from './backoff.ts';
import type { OutboxLimits } from './outbox.ts';

export const linkDefaults = {
  /** QoS 1 publishes not yet acknowledged by the broker: small, so a slow link does not buffer a whole outbox in memory. */
  inFlightMax: 16,
  /** A settle round trip is ~10 ms on a LAN; 10 s covers a congested mobile uplink and a busy core. */
  answerTimeoutMs: 10_000,
  /** A pending entry unanswered this long on one connection is published again (the core answers a resend from its journal). */
  resendAfterMs: 15_000,
  /** A TCP+MQTT handshake that takes longer than this is abandoned and retried with backoff. */
  connectTimeoutMs: 5_000,
  /** Broker keepalive: a dead link is noticed within 1.5× this. */
  keepaliveSec: 20,
} as const;
export type LinkLimits = { -readonly [K in keyof typeof linkDefaults]: number };

export interface LinkTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Only for a test broker with a self-signed certificate; never in production. */
  rejectUnauthorized?: boolean;
}

export interface DeviceLinkOptions {
  url: string;
  deviceId: string;
  /** The device key as base64url: the MQTT password and the key that tags answers. */
  secret: string;
  /** Outbox, seq and applied config live here and survive a reboot. */
  dataDir: string;
  kind?: DeviceKind;
  tls?: LinkTls;
  limits?: Partial<LinkLimits>;
  outbox?: Partial<OutboxLimits>;
  backoff?: Partial<BackoffLimits>;
  random?: RandomSource;
  logger?: Logger;
}

export interface LinkStats {
  connects: number;
  published: number;
  answered: number;
  /** Answers for entries no longer pending: a second delivery of the same answer. */
  duplicates: number;
  rejected: Record<AnswerRejection, number>;
  configsApplied: number;
  configsIgnored: number;
}

export type LinkEvents = {
  config: [DeviceConfig];
  result: [SettleResult];
  /**
   * A verified result (tag checked) with no outbox entry and nobody waiting
   * for it (waitForResult): a second delivery, a late answer to a phone-sent
   * settle (claim 9), or a settle someone else sent naming this device.
   */
  'unmatched-result': [SettleResult];
  'outcome-ack': [OutcomeAck];
  /** Claim 36: a verified card-result, card-reversal-ack or card-error that cleared its outbox entry. */
  'card-answer': [CardAnswer];
  /** A verified card answer for no pending entry: a second delivery, or one for a request the device withdrew (reversed) or lost in a restart. */
  'unmatched-card-answer': [CardAnswer];
  /** The broker acknowledged (PUBACK) this entry's publish. */
  published: [{ id: string; body: string }];
  connected: [];
  disconnected: [];
};

