/**
 * Shared broker state for several gateway nodes (DESIGN §2): sessions,
 * retained messages and wills in Redis (aedes-persistence-redis), messages
 * between nodes over Redis pub/sub (mqemitter-redis). Loaded only when a
 * Redis URL is configured, so the embedded gateway needs no Redis client.
 */
import { createRequire } from 'node:module';
import { BrokerError } from './errors.ts';

/**
 * The part of an Aedes persistence the gateway uses besides Aedes itself. The
 * `aedes` typings declare `persistence` as `any`, and aedes-persistence-redis
 * ships none; this is what both implementations provide.
 */
export interface BrokerPersistence {
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<{ topic: string; payload: Buffer | string }>;
  destroy(): Promise<void>;
}

interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
  keyPrefix: string;
}

/** redis://[user[:password]@]host[:port][/db] or rediss:// for TLS, as ioredis options. */
export function redisOptionsFromUrl(url: string, keyPrefix: string): RedisConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BrokerError('TS_ERR_GATEWAY_OPTIONS', `redisUrl: not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new BrokerError('TS_ERR_GATEWAY_OPTIONS', `redisUrl: expected redis:// or rediss://, got ${u.protocol}`);
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw new BrokerError('TS_ERR_GATEWAY_OPTIONS', `redisUrl: the path must be a database number, got ${JSON.stringify(u.pathname)}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    keyPrefix,
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { password: decodeURIComponent(u.password) } : {}),
    ...(dbText !== '' ? { db: Number(dbText) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

// Aedes types both options as `any`; they stay opaque here.
type PersistenceFactory = (options: RedisConnectionOptions & { maxSessionDelivery: number }) => unknown;
type EmitterFactory = (options: { connectionString: string; concurrency: number; matchEmptyLevels: boolean }) => unknown;

const require = createRequire(import.meta.url);

/** Aedes options for Redis persistence and emitter. Both open their connections here; Aedes closes the emitter, the caller destroys the persistence. */
export function redisBrokerState(url: string, o: { keyPrefix: string; concurrency: number; sessionDeliveryPacketsMax: number }): { persistence: unknown; mq: unknown } {
  const connection = redisOptionsFromUrl(url, o.keyPrefix);
  // CommonJS packages without usable ESM typings: typed here by what we call.
  const persistenceRedis = require('aedes-persistence-redis') as PersistenceFactory;
  const mqemitterRedis = require('mqemitter-redis') as EmitterFactory;
  return {
    persistence: persistenceRedis({ ...connection, maxSessionDelivery: o.sessionDeliveryPacketsMax }),
    // matchEmptyLevels: as Aedes sets for its in-memory emitter [MQTT-4.7.1-3].
    mq: mqemitterRedis({ connectionString: url, concurrency: o.concurrency, matchEmptyLevels: true }),
  };
}
