/**
 * Every limit of the broker, in one object (STYLE: "put a limit on
 * everything"). A limit's unit is the last word of its name, or it counts
 * the thing named before `Max`. Overrides are validated when the broker is
 * built: a value that is not an integer, or is below its floor, is an error
 * naming the key; a value above its ceiling is clamped to it (and reported),
 * because the ceiling is what the protocol or Aedes can honour anyway.
 */
import { limits as protocolLimits } from '../../protocol/index.ts';
import { BrokerError } from './errors.ts';

export const defaultBrokerLimits = {
  /** Largest body a device may publish: the protocol refuses anything larger (messageBytesMax, 4 KiB), so the broker never carries it. */
  payloadBytesMax: protocolLimits.messageBytesMax,
  /** Largest body the gateway itself publishes on a `config` topic (catalog, fare table, deny list): the protocol's configBytesMax. */
  configPayloadBytesMax: protocolLimits.configBytesMax,
  /**
   * Room for everything in an MQTT packet besides the body: topic (≤ 89 bytes for our tree),
   * packet id, and in a CONNECT the client id, username, password and will topic. A packet whose
   * remaining length exceeds payloadBytesMax + this is cut off before it is buffered.
   */
  packetOverheadBytesMax: 512,
  /** Open connections (all listeners together): ~10k devices per gateway node keeps Aedes' per-client state well under 1 GB; past that, add a node (DESIGN §2). */
  clientsMax: 10_000,
  /**
   * New connections from one address per second. 50 lets a station of devices behind one NAT
   * reconnect together after a gateway restart (mqtt.js retries every second) and stops a single
   * host from flooding the CONNECT and key-check path.
   */
  connectsPerIpPerSecMax: 50,
  /** Addresses whose connect rate is tracked at once; past this, new addresses are refused until the window passes (fail closed under a distributed flood). */
  trackedIpsMax: 100_000,
  /**
   * Longest MQTT keepalive a device may ask for; keepalive 0 (never) is refused. Aedes drops a
   * client silent for 1.5 × its keepalive, so a half-open connection is gone within 3 minutes
   * and the device's last will marks it offline.
   */
  keepaliveSecMax: 120,
  /** Time from TCP accept (or TLS handshake, or WebSocket upgrade) to a CONNECT packet; an idle socket is closed after it. */
  connectTimeoutMs: 10_000,
  /** Time for a TLS handshake: a client that opens TCP and never finishes the handshake holds a socket for no more than this. */
  tlsHandshakeTimeoutMs: 10_000,
  /** Packets a client may pipeline behind its CONNECT before the CONNACK (Aedes queueLimit): a resubscribe plus a few queued outbox messages; each is ≤ one packet limit, so this bounds pre-auth memory per socket. */
  preConnackPacketsMax: 16,
  /** Inbound QoS 2 publications awaiting PUBREL (Aedes maxInflightInbound). Devices use QoS ≤ 1 and the ACL refuses QoS 2, so this is a second fence. */
  inboundQos2InflightMax: 16,
  /** A client whose socket does not drain for this long is dropped, so one frozen subscriber cannot stall delivery to everyone (Aedes drainTimeout). */
  drainTimeoutMs: 10_000,
  /** Messages the emitter delivers concurrently (Aedes/mqemitter concurrency); Aedes' default, which its published figures were measured with. */
  deliveryConcurrencyMax: 100,
  /** Topic levels in any topic or filter: ours have 5; Aedes rejects more before its matcher, which cannot take over 100. */
  topicLevelsMax: 8,
  /** Key checks running at once. A check costs a scrypt the first time a device logs in; beyond this, CONNECT is answered "server unavailable" and the device retries. */
  authInFlightMax: 64,
  /** After a refused SUBSCRIBE the SUBACK (128) is flushed and the socket ended; a peer that does not close is cut off after this. */
  breachCloseGraceMs: 1_000,
  /** Devices in the availability view (online/offline with their last state). */
  availabilityEntriesMax: 100_000,
  /** Queued QoS 1 messages delivered to a reconnecting persistent session (Redis persistence maxSessionDelivery); results older than the device's own timeout are useless anyway. */
  sessionDeliveryPacketsMax: 100,
} as const;

export type BrokerLimits = { -readonly [K in keyof typeof defaultBrokerLimits]: number };
export type BrokerLimitKey = keyof BrokerLimits;

/** Floor and ceiling of each limit. Below the floor is an error; above the ceiling is clamped. */
const ranges: Readonly<Record<BrokerLimitKey, readonly [floor: number, ceiling: number]>> = {
  payloadBytesMax: [256, protocolLimits.messageBytesMax],
  configPayloadBytesMax: [1024, protocolLimits.configBytesMax],
  packetOverheadBytesMax: [256, 4096],
  clientsMax: [1, 1_000_000],
  connectsPerIpPerSecMax: [1, 100_000],
  trackedIpsMax: [100, 10_000_000],
  keepaliveSecMax: [1, 65_535],
  connectTimeoutMs: [50, 120_000],
  tlsHandshakeTimeoutMs: [50, 120_000],
  preConnackPacketsMax: [1, 1000],
  inboundQos2InflightMax: [1, 65_535],
  drainTimeoutMs: [50, 600_000],
  deliveryConcurrencyMax: [1, 10_000],
  topicLevelsMax: [5, 100],
  authInFlightMax: [1, 10_000],
  breachCloseGraceMs: [0, 10_000],
  availabilityEntriesMax: [1, 10_000_000],
  sessionDeliveryPacketsMax: [1, 100_000],
};

export interface ResolvedLimits {
  limits: BrokerLimits;
  /** Keys whose value was above the ceiling, with what was asked and what is used. */
  clamped: { key: BrokerLimitKey; asked: number; used: number }[];
}

const isLimitKey = (key: string): key is BrokerLimitKey => Object.hasOwn(ranges, key);

/** The defaults with the overrides applied, validated and clamped. Throws TS_ERR_GATEWAY_LIMIT naming the bad key. */
export function resolveBrokerLimits(overrides: Readonly<Record<string, unknown>> = {}): ResolvedLimits {
  const resolved: BrokerLimits = { ...defaultBrokerLimits };
  const clamped: ResolvedLimits['clamped'] = [];
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!isLimitKey(key)) throw new BrokerError('TS_ERR_GATEWAY_LIMIT', `limits.${key}: unknown limit (known: ${Object.keys(ranges).join(', ')})`);
    const [floor, ceiling] = ranges[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new BrokerError('TS_ERR_GATEWAY_LIMIT', `limits.${key}: expected an integer, got ${JSON.stringify(value)}`);
    if (value < floor) throw new BrokerError('TS_ERR_GATEWAY_LIMIT', `limits.${key}: must be at least ${floor}, got ${value}`);
    const used = Math.min(value, ceiling);
    if (used !== value) clamped.push({ key, asked: value, used });
    resolved[key] = used;
  }
  return { limits: resolved, clamped };
}

/** The largest MQTT packet (remaining length) a client may send. */
export const packetBytesMax = (l: BrokerLimits): number => l.payloadBytesMax + l.packetOverheadBytesMax;
