/**
 * Options of the PostgreSQL store, their defaults and their validation. Every
 * limit carries its unit last in its name; a bad value is refused with an
 * error naming the key (the connection string itself is never echoed: it may
 * hold a password).
 */
import type { PoolConfig } from 'pg';
import { CoreError } from '../../errors.ts';

export interface PgStoreLimits {
  /**
   * Connections this store opens at most. A unit of work holds one for its
   * length; reads (statements, the wallet API, the audit) take the others
   * beside it, so at least 2 — and they share the pool, so a flood of reads
   * can make a batch wait for a connection (up to connectTimeoutMs). Each
   * gateway node opens up to this many and PostgreSQL's max_connections
   * defaults to 100: 10 leaves room for several nodes plus the CLI.
   */
  poolSizeMax: number;
  /**
   * Longest any one statement may run, ms. It also bounds how long a writer
   * waits for another node's transaction to release the epoch row (see
   * bumpEpoch), and how long a transaction may sit idle between statements
   * (a node that hangs mid-transaction releases the lock after this long).
   * A batch of 1,000 settlements takes milliseconds; 10 s is far above it.
   */
  statementTimeoutMs: number;
  /** An idle pooled connection is closed after this long, ms, so a quiet node does not hold server slots. */
  idleTimeoutMs: number;
  /** Longest wait for a new connection, or for a free one when the pool is full, ms. Fail fast: the device retries. */
  connectTimeoutMs: number;
}

export interface PgStoreOptions extends Partial<PgStoreLimits> {
  /** `postgres://user:password@host:port/database`. */
  connectionString: string;
  /**
   * The schema the ledger's tables live in (created if missing; set as the
   * search_path of every connection). Default `public`. Lets several ledgers,
   * or tests, share one database.
   */
  schema?: string;
}

export const defaultPgStoreLimits: Readonly<PgStoreLimits> = Object.freeze({
  poolSizeMax: 10,
  statementTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
});

/** Bounds of each limit: [min, max]. */
const limitRanges: Readonly<Record<keyof PgStoreLimits, readonly [number, number]>> = {
  poolSizeMax: [2, 1000],
  statementTimeoutMs: [1, 3_600_000],
  idleTimeoutMs: [1, 86_400_000],
  connectTimeoutMs: [1, 600_000],
};

const knownKeys = new Set(['connectionString', 'schema', ...Object.keys(limitRanges)]);

/** A lower-case SQL identifier: safe to put in a startup option and a CREATE SCHEMA without quoting surprises. */
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

export interface ResolvedPgStoreOptions extends PgStoreLimits {
  connectionString: string;
  schema: string;
}

const bad = (key: string, message: string): CoreError => new CoreError('TS_ERR_INVALID_ARGUMENT', `PgLedgerStore option ${key}: ${message}`);

/**
 * pg lets parameters of the connection string override the client config, so
 * one of these in the URL would silently replace the per-connection settings
 * below (the schema, durable commits, the timeouts): refused.
 */
const reservedUrlParameters = ['options', 'statement_timeout', 'idle_in_transaction_session_timeout'];

function checkConnectionString(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw bad('connectionString', 'must be a non-empty string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('connectionString', 'must be a URL like postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw bad('connectionString', `must start with postgres://, not ${url.protocol}//`);
  for (const name of reservedUrlParameters) {
    if (url.searchParams.has(name)) {
      throw bad('connectionString', `parameter ${name}= would override the store's per-connection settings; use the store's options, or ALTER ROLE … SET`);
    }
  }
  return value;
}

export function resolvePgStoreOptions(options: PgStoreOptions): ResolvedPgStoreOptions {
  if (typeof options !== 'object' || options === null) throw bad('(options)', 'must be an object');
  for (const key of Object.keys(options)) if (!knownKeys.has(key)) throw bad(key, `unknown option (known: ${[...knownKeys].join(', ')})`);
  const connectionString = checkConnectionString(options.connectionString);
  const schema = options.schema ?? 'public';
  if (typeof schema !== 'string' || !schemaPattern.test(schema)) throw bad('schema', `must match ${String(schemaPattern)}, got ${JSON.stringify(schema)}`);
  const limits = { ...defaultPgStoreLimits };
  for (const [key, [min, max]] of Object.entries(limitRanges) as [keyof PgStoreLimits, readonly [number, number]][]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw bad(key, `must be an integer ${min}..${max}, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return { connectionString, schema, ...limits };
}

export function poolConfig(o: ResolvedPgStoreOptions): PoolConfig {
  return {
    connectionString: o.connectionString,
    max: o.poolSizeMax,
    idleTimeoutMillis: o.idleTimeoutMs,
    connectionTimeoutMillis: o.connectTimeoutMs,
    statement_timeout: o.statementTimeoutMs,
    idle_in_transaction_session_timeout: o.statementTimeoutMs,
    application_name: 'tapsettle-ledger',
    // Per connection, at start-up: our schema only, and a COMMIT returns after
    // the WAL is flushed (synchronous_commit=off may lose the last commits on a
    // crash — and a device has been told "approved" by then).
    options: `-c search_path=${o.schema} -c synchronous_commit=on`,
  };
}
