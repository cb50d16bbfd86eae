/**
 * The gateway's configuration: an optional `tapsettle.yaml`, validated
 * strictly. An error names the bad key and the form expected; the process
 * does not start on a config it does not understand.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const Port = z.number().int().min(0).max(65535);
const Host = z.string().min(1).max(255);
const TlsFiles = z.strictObject({ port: Port, key: z.string().min(1), cert: z.string().min(1) });

export const GatewayConfig = z.strictObject({
  /** Ledger, key file, device registry and demo credentials live here. */
  data: z.string().min(1).default('./data'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR').default('EUR'),
  mqtt: z.strictObject({
    host: Host.default('127.0.0.1'),
    /** 1883 is the usual production port; the embedded default keeps clear of a Mosquitto already on it. 0 = any free port. */
    port: Port.default(1884),
    tls: TlsFiles.optional(),
    /** MQTT over WebSocket for browsers and phones, path /mqtt. */
    ws: z.strictObject({ port: Port }).optional(),
    /** Shared broker state for several gateway nodes (aedes-persistence-redis + mqemitter-redis). */
    redisUrl: z.string().regex(/^rediss?:\/\//, 'a redis:// URL').optional(),
  }).default({ host: '127.0.0.1', port: 1884 }),
  http: z.strictObject({
    host: Host.default('127.0.0.1'),
    port: Port.default(8080),
    tls: z.strictObject({ key: z.string().min(1), cert: z.string().min(1) }).optional(),
    /** When set, /metrics and /v1/devices need `Authorization: Bearer <token>` (they share the port with the public wallet API). */
    adminToken: z.string().min(16, 'at least 16 characters').max(256).optional(),
  }).default({ host: '127.0.0.1', port: 8080 }),
  core: z.strictObject({
    batchSizeMax: z.number().int().min(1).max(10_000).optional(),
    queueLengthMax: z.number().int().min(1).max(1_000_000).optional(),
    lingerMs: z.number().int().min(0).max(1000).optional(),
    amountMinorMaxPerSettle: z.number().int().min(1).max(100_000_000).optional(),
    duePollMs: z.number().int().min(10).max(60_000).optional(),
  }).default({}),
  /**
   * Where the ledger lives: the embedded SQLite file (<data>/tapsettle.db), a
   * PostgreSQL database, or N servers sharded by branch (claims 19–21; the
   * directory file is created with even branch ranges on the first run).
   */
  store: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('sqlite') }),
    z.strictObject({
      kind: z.literal('postgres'),
      url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'expected postgres://user@host:port/database'),
      schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier').default('public'),
      poolSizeMax: z.number().int().min(2).max(100).optional(),
    }),
    z.strictObject({
      kind: z.literal('sharded'),
      servers: z.array(z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('sqlite'), path: z.string().min(1).max(1024), thread: z.boolean().optional() }),
        z.strictObject({ kind: z.literal('postgres'), url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'expected postgres://user@host:port/database'), schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier') }),
      ])).min(1).max(64),
    }),
  ]).default({ kind: 'sqlite' }),
  /** Claim 36: the card processing apparatus forwards card authorizations to this issuer host (`tapsettle issuer start`). Absent = no card route. */
  cards: z.strictObject({
    issuerUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected http(s)://host:port'),
    /** The issuer host's secrets file (it holds the acquirer token the issuer expects). */
    secretsFile: z.string().min(1).max(1024),
  }).optional(),
  /** Seed a demo station (merchant, one device of each kind, funded wallets) on the first run. */
  demo: z.boolean().default(true),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({ level: 'info' }),
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;

export class ConfigError extends Error {
  readonly code = 'TS_ERR_CONFIG';
}

/** Parses a config object; the error names the key (`mqtt.port`) and what was expected. */
export function parseGatewayConfig(raw: unknown, source = 'config'): GatewayConfig {
  const parsed = GatewayConfig.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.slice(0, 5).map((i) => {
    const key = i.path.join('.') || '(top level)';
    return i.code === 'unrecognized_keys' ? `${key}: unknown key(s) ${i.keys.join(', ')}` : `${key}: ${i.message}`;
  });
  throw new ConfigError(`${source} is not valid:\n  ${lines.join('\n  ')}`);
}

/** Reads a YAML file if it exists (a missing default file means all defaults). */
export function loadGatewayConfig(path: string, required: boolean): GatewayConfig {
  if (!existsSync(path)) {
    if (required) throw new ConfigError(`config file ${path} does not exist`);
    return parseGatewayConfig({}, path);
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'), { maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseGatewayConfig(raw, path);
}
