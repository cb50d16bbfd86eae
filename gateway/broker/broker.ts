/**
 * The gateway's MQTT broker: Aedes 1.x with device login, the ACL, every
 * limit of limits.ts, and three listeners (TCP, TLS, WebSocket). Broker state
 * lives in memory, or in Redis when `redisUrl` is set so several gateway
 * nodes share it (DESIGN §2).
 *
 * What reaches the rest of the gateway: `onMessage` (what authenticated
 * devices connected to this node published), `publish` (the gateway's own
 * messages: results, configs), `online` (who is connected, with their last
 * `state`), `stats` (counters for metrics).
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { Client } from 'aedes';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { channelRules, limits as protocolLimits, parseDeviceTopic, topics } from '../../protocol/index.ts';
import type { Channel } from '../../protocol/index.ts';
import { AclBreachError, authorizeDevicePublish, authorizeDeviceSubscribe } from './acl.ts';
import type { AclBreach } from './acl.ts';
import { admittedKeyVersion, deviceConnectHooks } from './auth.ts';
import type { DeviceVerifier } from './auth.ts';
import { AvailabilityView } from './availability.ts';
import type { DeviceAvailability } from './availability.ts';
import { ConnectRateLimiter, normalizeAddress } from './connect-rate.ts';
import { BrokerError } from './errors.ts';
import { MqttFrameGuard } from './frame-guard.ts';
import { packetBytesMax, resolveBrokerLimits } from './limits.ts';
import type { BrokerLimits } from './limits.ts';
import { openListeners } from './listeners.ts';
import { MessageRouter, toBuffer } from './message-router.ts';
import type { MessageHandler } from './message-router.ts';
import type { ListenerSpec, Listeners } from './listeners.ts';
import { redisBrokerState } from './redis.ts';
import type { BrokerPersistence } from './redis.ts';
import { BrokerCounters, closeReason } from './stats.ts';
import type { BrokerObserver, BrokerStats, RejectReason } from './stats.ts';

export type { BrokerObserver, BrokerStats, CloseReason, RejectReason } from './stats.ts';

export interface BrokerOptions extends ListenerSpec {
  /** Checks device logins (the DeviceRegistry). */
  registry: DeviceVerifier;
  /** Host for listeners that name none. Default 127.0.0.1. */
  host?: string;
  /** Shared state for several gateway nodes; in memory when absent. */
  redisUrl?: string;
  /** Prefix of the broker's Redis keys. Default `tapsettle:broker:`; nodes of one gateway share it. */
  redisKeyPrefix?: string;
  /** Broker id, unique per node in a cluster. Default a random UUID. */
  id?: string;
  limits?: Partial<BrokerLimits>;
  logger?: Logger;
  observe?: BrokerObserver;
  now?: () => number;
}

export async function startBroker(options: BrokerOptions): Promise<GatewayBroker> {
  const { limits, clamped } = resolveBrokerLimits(options.limits ?? {});
  const logger = options.logger ?? pino({ name: 'broker' });
  for (const c of clamped) logger.warn(c, `limits.${c.key} above its ceiling: clamped`);
  const redis = options.redisUrl === undefined ? null : redisBrokerState(options.redisUrl, {
    keyPrefix: options.redisKeyPrefix ?? 'tapsettle:broker:', concurrency: limits.deliveryConcurrencyMax, sessionDeliveryPacketsMax: limits.sessionDeliveryPacketsMax,
  });
  const broker = new GatewayBroker(limits, logger, options, await Aedes.createBroker({
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(redis ?? {}),
    concurrency: limits.deliveryConcurrencyMax,
    connectTimeout: limits.connectTimeoutMs,
    keepaliveLimit: limits.keepaliveSecMax,
    queueLimit: limits.preConnackPacketsMax,
    maxInflightInbound: limits.inboundQos2InflightMax,
    drainTimeout: limits.drainTimeoutMs,
    maxTopicLevels: limits.topicLevelsMax,
    maxClientsIdLength: protocolLimits.deviceIdLengthMax,
  }));
  try {
    await broker.start(options);
  } catch (err) {
    await broker.close();
    throw err;
  }
  return broker;
}

export class GatewayBroker {
  readonly ports: { tcp?: number; tls?: number; ws?: number } = {};
  private listeners: Listeners | null = null;
  private closed = false;
  private readonly now: () => number;
  private readonly view: AvailabilityView;
  private readonly rate: ConnectRateLimiter;
  private readonly router: MessageRouter;
  private readonly remotes = new WeakMap<Client, string>();
  private readonly counts: BrokerCounters;

  /** Use startBroker. */
  constructor(
    readonly limits: BrokerLimits,
    private readonly log: Logger,
    options: BrokerOptions,
    readonly aedes: Aedes,
  ) {
    this.now = options.now ?? Date.now;
    this.view = new AvailabilityView(limits.availabilityEntriesMax, this.now);
    this.rate = new ConnectRateLimiter(limits.connectsPerIpPerSecMax, limits.trackedIpsMax, this.now);
    this.counts = new BrokerCounters(options.observe);
    this.router = new MessageRouter(log);
  }

  /** @internal Installs the hooks, seeds availability from retained states, opens the listeners. */
  async start(o: BrokerOptions): Promise<void> {
    const aedes = this.aedes;
    const onBreach = (b: AclBreach, client: Client): void => this.breach(b, client);
    const { preConnect, authenticate } = deviceConnectHooks({
      verifier: o.registry, payloadBytesMax: this.limits.payloadBytesMax, authInFlightMax: this.limits.authInFlightMax, onBreach,
      onRejected: (reason, client, detail) => {
        this.counts.reject(reason);
        this.log.info({ clientId: client.id, remote: this.remotes.get(client), reason, detail }, 'connect refused');
      },
    });
    aedes.preConnect = preConnect;
    aedes.authenticate = authenticate;
    aedes.authorizePublish = authorizeDevicePublish(this.limits.payloadBytesMax, onBreach);
    aedes.authorizeSubscribe = authorizeDeviceSubscribe(onBreach);
    aedes.on('publish', (packet, client) => this.router.dispatch(packet, client));
    breakSynchronousDelivery(aedes);
    aedes.on('clientReady', (client) => this.view.connected(client.id));
    aedes.on('clientDisconnect', (client) => this.view.disconnected(client.id));
    aedes.on('subscribe', (subs, client) => {
      // A refused filter was answered SUBACK 128 (just written): now end the connection.
      // Aedes reports the granted QoS here, 128 included, which its typings (0 | 1 | 2) leave out.
      if (subs.some((s) => (s.qos as number) === 128)) client.conn.end();
    });
    aedes.on('clientError', (client, err) => this.clientClosed(client, err));
    aedes.on('connectionError', (client, err) => this.clientClosed(client, err));
    // Aedes reports persistence failures as 'error'; unhandled, an EventEmitter would throw them.
    // Its typings list only the other events, hence the view as a plain EventEmitter.
    (aedes as EventEmitter).on('error', (err: Error) => this.log.error({ err }, 'broker error'));
    await new Promise<void>((resolve) => aedes.subscribe(topics.all('state'), (packet, done) => {
      const parsed = parseDeviceTopic(packet.topic);
      if (parsed !== null) this.view.stateMessage(parsed.deviceId, toBuffer(packet.payload));
      done();
    }, resolve));
    for await (const packet of this.persistence().createRetainedStreamCombi([topics.all('state')])) {
      const parsed = parseDeviceTopic(packet.topic);
      if (parsed !== null) this.view.stateMessage(parsed.deviceId, toBuffer(packet.payload));
    }
    this.listeners = await openListeners(o, {
      host: o.host ?? '127.0.0.1',
      admit: (socket) => this.admit(socket),
      attach: (stream, req) => this.attach(stream, req),
      tlsHandshakeTimeoutMs: this.limits.tlsHandshakeTimeoutMs,
      connectTimeoutMs: this.limits.connectTimeoutMs,
      // One MQTT packet plus its fixed header (type byte, up to 4 length bytes).
      wsMessageBytesMax: packetBytesMax(this.limits) + 5,
      onTlsError: (err) => this.log.info({ err: err.message }, 'TLS handshake failed'),
    });
    Object.assign(this.ports, this.listeners.ports);
  }

  /** Publishes as the gateway (no ACL): results, configs. Refuses wildcards, `$` topics and bodies over the channel's limit. */
  publish(topic: string, payload: string | Buffer, o: { qos: 0 | 1; retain: boolean }): Promise<void> {
    if (this.closed) return Promise.reject(new BrokerError('TS_ERR_GATEWAY_CLOSED', 'the broker is closed'));
    if (topic.length === 0 || topic.startsWith('$') || /[+#\0]/.test(topic)) {
      return Promise.reject(new BrokerError('TS_ERR_GATEWAY_TOPIC', `not a topic to publish on: ${JSON.stringify(topic.slice(0, 200))}`));
    }
    const bytes = toBuffer(payload);
    const max = parseDeviceTopic(topic)?.channel === 'config' ? this.limits.configPayloadBytesMax : this.limits.payloadBytesMax;
    if (bytes.length > max) return Promise.reject(new BrokerError('TS_ERR_GATEWAY_PAYLOAD_TOO_LARGE', `${bytes.length} bytes for ${topic}, limit ${max}`));
    return new Promise((resolve, reject) => {
      this.aedes.publish({ cmd: 'publish', topic, payload: bytes, qos: o.qos, retain: o.retain, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Messages that devices connected to this node published on `tapsettle/v1/dev/+/{channel}`,
   * last wills included. The ACL has made sure the topic's device id is the sender's. A handler
   * must not block: queue and return. Returns the unsubscribe function.
   */
  onMessage(channel: Channel, handler: MessageHandler): () => void {
    return this.router.add(channel, handler);
  }

  /** The retained message on one concrete topic (a device's `state` or `config`), or null. */
  async retained(topic: string): Promise<Buffer | null> {
    if (topic.length === 0 || /[+#]/.test(topic)) throw new BrokerError('TS_ERR_GATEWAY_TOPIC', `retained() takes one concrete topic, got ${JSON.stringify(topic.slice(0, 200))}`);
    for await (const packet of this.persistence().createRetainedStreamCombi([topic])) return toBuffer(packet.payload);
    return null;
  }

  /** Devices this node has seen, with their connection status and last `state`. A copy. */
  online(): Map<string, DeviceAvailability> {
    return this.view.snapshot();
  }

  stats(): BrokerStats {
    return this.counts.snapshot(this.aedes.closed ? 0 : this.aedes.connectedClients);
  }

  /** The devices with a connection on this node now, each with the registry key version it logged in under. */
  connectedDevices(): { id: string; keyVersion: number | null }[] {
    // Aedes keeps its sessions in `clients`, which its typings leave out.
    const clients = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients;
    return Object.entries(clients).map(([id, c]) => ({ id, keyVersion: c === undefined ? null : admittedKeyVersion.get(c) ?? null }));
  }

  /** Closes a device's connection on this node (after a revoke). Its last will is published. */
  disconnect(deviceId: string): Promise<boolean> {
    // Aedes keeps its sessions in `clients`, which its typings leave out.
    const client = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[deviceId];
    if (client === undefined) return Promise.resolve(false);
    return new Promise((resolve) => client.close(() => resolve(true)));
  }

  /** Stops the listeners, closes every client (their wills are published), then the emitter and the persistence. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.aedes.close(resolve));
    await this.listeners?.close();
    try {
      await this.persistence().destroy();
    } catch (err) {
      this.log.warn({ err }, 'closing broker persistence failed');
    }
  }

  /** Aedes sets up its persistence in listen(); its typings declare it `any`. */
  private persistence(): BrokerPersistence {
    return (this.aedes as unknown as { persistence: BrokerPersistence }).persistence;
  }

  private admit(socket: Socket): boolean {
    const address = normalizeAddress(socket.remoteAddress);
    if (this.counts.sockets >= this.limits.clientsMax) return this.refuseSocket('clients-full', address);
    if (!this.rate.admit(address)) return this.refuseSocket('connect-rate', address);
    this.counts.sockets += 1;
    socket.once('close', () => void (this.counts.sockets -= 1));
    return true;
  }

  private refuseSocket(reason: RejectReason, remote: string): false {
    this.counts.reject(reason);
    this.log.debug({ remote, reason }, 'connection refused at accept');
    return false;
  }

  private attach(stream: Duplex, req?: IncomingMessage): void {
    const client = this.aedes.handle(stream, req);
    const remote = normalizeAddress(req?.socket.remoteAddress ?? (stream as Partial<Socket>).remoteAddress);
    this.remotes.set(client, remote);
    // Aedes reads with read(), which also emits 'data' (without making the stream flow): the guard sees each chunk before the parser does.
    const guard = new MqttFrameGuard(packetBytesMax(this.limits));
    stream.on('data', (chunk: Buffer) => {
      const verdict = guard.scan(chunk);
      if (verdict === 'ok') return;
      if (verdict === 'oversized') this.counts.reject('payload-too-large');
      else this.counts.close('protocol-error');
      this.log.warn({ clientId: client.id, remote, verdict }, 'packet refused before buffering: connection closed');
      stream.destroy();
    });
  }

  private breach(b: AclBreach, client: Client): void {
    if (b.reason === 'payload-too-large') this.counts.reject('payload-too-large');
    else this.counts.breach(b.action, b.reason);
    this.log.warn({ ...b, remote: this.remotes.get(client) }, 'ACL breach: connection closed');
    // Publish and connect breaches close through Aedes; a refused SUBSCRIBE ends after its SUBACK, this is the backstop.
    if (b.action === 'subscribe') setTimeout(() => client.close(), this.limits.breachCloseGraceMs).unref();
  }

  private clientClosed(client: Client, err: Error): void {
    if (err instanceof AclBreachError || err.name === 'ConnectRefused') return;
    const reason = closeReason(err);
    this.counts.close(reason);
    this.log.info({ clientId: client.id, remote: this.remotes.get(client), reason, err: err.message }, 'client closed');
  }
}

/** Aedes' message emitter (mqemitter), as far as we use it: its typings do not expose `mq`. */
interface MessageEmitter {
  on(topic: string, notify: (packet: unknown, done: () => void) => void): void;
}

/**
 * Device channels (settle, outcome, state, event) have no emitter subscriber
 * — the bridge hears them through the `publish` event — so mqemitter would
 * complete each one synchronously, and when its delivery slots are all busy
 * every queued message completes inside the one before it: under a deep
 * backlog the stack overflows and the process dies (seen in bench:gateway
 * at 20,000 outstanding requests). One subscriber per device channel that
 * completes on the next tick keeps the stack flat.
 */
function breakSynchronousDelivery(aedes: Aedes): void {
  const mq = (aedes as unknown as { mq: MessageEmitter }).mq;
  for (const [channel, rule] of Object.entries(channelRules)) {
    if (rule.from === 'device') mq.on(topics.all(channel as Channel), (_packet, done) => process.nextTick(done));
  }
}
