/**
 * A broker on ephemeral ports with a registry in a temp dir, devices in it,
 * and clients to poke it with: mqtt.js, raw TCP sockets, captured logs.
 * Everything `openStation` opens, `station.close()` closes.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { connect as mqttConnect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { pino } from 'pino';
import { startBroker } from '../../../gateway/broker/broker.ts';
import type { BrokerOptions, GatewayBroker } from '../../../gateway/broker/broker.ts';
import { DeviceRegistry } from '../../../gateway/devices/registry.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';

export const deviceMasterKey = Buffer.alloc(32, 0x42);

export interface Station {
  broker: GatewayBroker;
  registry: DeviceRegistry;
  logs: Record<string, unknown>[];
  secrets: Map<string, string>;
  url: string;
  close(): Promise<void>;
}

export async function openStation(devices: string[], options: Partial<BrokerOptions> = {}): Promise<Station> {
  const dir = tempDir('tapsettle-broker-');
  const registry = DeviceRegistry.open({ path: join(dir.dir, 'gateway.db'), deviceMasterKey });
  const secrets = new Map<string, string>();
  for (const id of devices) secrets.set(id, (await registry.add({ id, kind: 'vending', merchant: '500-0000001' })).secret);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const broker = await startBroker({ tcp: { port: 0 }, registry, logger, ...options });
  return {
    broker, registry, logs, secrets, url: `mqtt://127.0.0.1:${broker.ports.tcp ?? 0}`,
    async close() {
      await broker.close();
      registry.close();
      dir.cleanup();
    },
  };
}

export type ConnectResult =
  | { ok: true; client: MqttClient }
  | { ok: false; returnCode: number | null; message: string };

/** Connects once (no reconnects) and reports how the broker answered. A refused client is already ended. */
export function connectClient(url: string, options: IClientOptions): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const client = mqttConnect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...options });
    const onConnect = (): void => {
      stopListening();
      resolve({ ok: true, client });
    };
    const onError = (err: Error & { code?: unknown }): void => refuse(typeof err.code === 'number' ? err.code : null, err.message);
    const onClose = (): void => refuse(null, 'closed without CONNACK');
    // Only our own listeners: mqtt.js keeps internal ones on the same events.
    const stopListening = (): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    const refuse = (returnCode: number | null, message: string): void => {
      stopListening();
      client.on('error', () => undefined);
      client.end(true);
      resolve({ ok: false, returnCode, message });
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** Connects a registered device with its secret; throws if refused. */
export async function connectDevice(station: Station, id: string, options: IClientOptions = {}, url = station.url): Promise<MqttClient> {
  const r = await connectClient(url, { clientId: id, username: id, password: station.secrets.get(id) ?? '', clean: true, ...options });
  if (!r.ok) throw new Error(`device ${id} refused: ${r.message}`);
  return r.client;
}

export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected && client.disconnected) return resolve();
    client.once('close', () => resolve());
  });
}

export async function endClient(client: MqttClient): Promise<void> {
  await client.endAsync(true);
}

/** Resolves when `check` holds, polling; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const mqttString = (s: string): Buffer => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** A CONNECT packet for MQTT 3.1.1 with clean session, written by hand (no client library in between). */
export function connectPacket(o: { clientId: string; username?: string; password?: string; keepaliveSec: number }): Buffer {
  const flags = 0x02 | (o.username !== undefined ? 0x80 : 0) | (o.password !== undefined ? 0x40 : 0);
  const variable = Buffer.concat([mqttString('MQTT'), Buffer.from([4, flags, o.keepaliveSec >> 8, o.keepaliveSec & 0xff])]);
  const payload = Buffer.concat([mqttString(o.clientId), ...(o.username !== undefined ? [mqttString(o.username)] : []), ...(o.password !== undefined ? [mqttString(o.password)] : [])]);
  const body = Buffer.concat([variable, payload]);
  if (body.length > 127) throw new RangeError('test CONNECT too long for a one-byte length');
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

export interface RawConnection {
  socket: Socket;
  received: () => Buffer;
  /** Resolves when the broker closes the socket, with the ms it stayed open. */
  closed: Promise<number>;
}

/** A plain TCP connection; writes `bytes` once connected. */
export function rawConnection(port: number, bytes?: Buffer): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = netConnect({ port, host: '127.0.0.1' });
    const opened = Date.now();
    const closedAt = new Promise<number>((r) => socket.once('close', () => r(Date.now() - opened)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (bytes !== undefined) socket.write(bytes);
      resolve({ socket, received: () => Buffer.concat(chunks), closed: closedAt });
    });
    socket.once('error', reject);
  });
}
