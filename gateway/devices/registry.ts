/**
 * The device registry: which devices may log in to the broker, what they are
 * and whom they sell for. Its own SQLite file (`<data>/gateway.db`), separate
 * from the ledger: the broker checks logins without touching the core.
 *
 * A device's secret is its result-tag key (DESIGN §5), derived, never stored:
 * `deriveDeviceKey(deviceMasterKey, "{id}#{keyVersion}")`, base64url. The file
 * keeps only a salted scrypt hash of it. Re-adding a revoked device bumps its
 * key version, so it gets a new secret and the old one is dead for good.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openDurableFile } from '../../settlement-core/store/sqlite/durable-file.ts';
import { AccountId, DeviceId, DeviceKind, deriveDeviceKey, masterKeyBytes } from '../../protocol/index.ts';
import { BoundedCache } from './bounded-cache.ts';
import { hashSecret, secretMatchesHash } from './key-hash.ts';

export type DeviceStatus = 'active' | 'revoked';

export interface DeviceRecord {
  id: string;
  kind: DeviceKind;
  /** The merchant account (BBB-NNNNNNN) the device sells for. */
  merchant: string;
  status: DeviceStatus;
  /** Starts at 1; each re-add after a revoke adds 1, which derives a new key. */
  keyVersion: number;
  /** Epoch ms of the first registration of this id. */
  createdAt: number;
}

export const deviceRegistryErrorCodes = [
  'TS_ERR_GATEWAY_DEVICE_ID',
  'TS_ERR_GATEWAY_DEVICE_KIND',
  'TS_ERR_GATEWAY_MERCHANT',
  'TS_ERR_GATEWAY_MASTER_KEY',
  'TS_ERR_GATEWAY_DEVICE_EXISTS',
  'TS_ERR_GATEWAY_UNKNOWN_DEVICE',
  'TS_ERR_GATEWAY_REGISTRY_CONFLICT',
] as const;
export type DeviceRegistryErrorCode = (typeof deviceRegistryErrorCodes)[number];

export class DeviceRegistryError extends Error {
  constructor(readonly code: DeviceRegistryErrorCode, message: string) {
    super(message);
    this.name = 'DeviceRegistryError';
  }
}

export const registryLimits = {
  /** Derived keys kept in memory by (id, key version): one HMAC saved per result tag; 10k covers a gateway node's devices. */
  derivedKeyCacheEntriesMax: 10_000,
  /** Successful scrypt checks remembered by (id, key version, SHA-256 of the secret): a reconnect storm costs one scrypt per device, not one per connect. */
  verifiedSecretCacheEntriesMax: 10_000,
  /** A secret is 32 bytes as unpadded base64url: exactly 43 characters. */
  secretLength: 43,
} as const;

export interface DeviceRegistryOptions {
  /** SQLite file; its directory is created. */
  path: string;
  /** The installation's device master key (cli/keys.ts), at least 32 bytes. */
  deviceMasterKey: Uint8Array;
  /** Clock for createdAt; injectable for tests. */
  now?: () => number;
}

interface DeviceRow {
  id: string;
  kind: DeviceKind;
  merchant: string;
  status: DeviceStatus;
  key_version: number;
  key_hash: string;
  created_at: number;
}

const schema = `
  CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('vending', 'kiosk', 'gate', 'pos')),
    merchant TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    key_version INTEGER NOT NULL CHECK (key_version >= 1),
    key_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
`;

const secretPattern = /^[A-Za-z0-9_-]{43}$/;
const toRecord = (r: DeviceRow): DeviceRecord => ({ id: r.id, kind: r.kind, merchant: r.merchant, status: r.status, keyVersion: r.key_version, createdAt: r.created_at });

export class DeviceRegistry {
  private readonly derivedKeys = new BoundedCache<string, Buffer>(registryLimits.derivedKeyCacheEntriesMax);
  private readonly verifiedSecrets = new BoundedCache<string, true>(registryLimits.verifiedSecretCacheEntriesMax);
  private readonly byId: Database.Statement<[string], DeviceRow>;
  private readonly all: Database.Statement<[], DeviceRow>;

  private constructor(
    private readonly db: Database.Database,
    private readonly masterKey: Buffer,
    private readonly now: () => number,
  ) {
    this.byId = db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?');
    this.all = db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY id');
  }

  static open(options: DeviceRegistryOptions): DeviceRegistry {
    if (options.deviceMasterKey.byteLength < masterKeyBytes) {
      throw new DeviceRegistryError('TS_ERR_GATEWAY_MASTER_KEY', `deviceMasterKey must be at least ${masterKeyBytes} bytes, got ${options.deviceMasterKey.byteLength}`);
    }
    // The CLI adds and revokes devices while the gateway reads: the busy timeout waits for a writer rather than fail.
    const db = openDurableFile(options.path);
    try {
      db.exec(schema);
    } catch (err) {
      db.close();
      throw err;
    }
    // A copy: the caller may zero or reuse its buffer.
    return new DeviceRegistry(db, Buffer.from(options.deviceMasterKey), options.now ?? Date.now);
  }

  /**
   * Registers a device and returns its secret — the only time it is shown. An id that is
   * active already is refused; a revoked id comes back with the next key version.
   */
  async add(input: { id: string; kind: string; merchant: string }): Promise<{ device: DeviceRecord; secret: string }> {
    const { id, kind, merchant } = checkInput(input);
    const existing = this.byId.get(id);
    if (existing?.status === 'active') throw new DeviceRegistryError('TS_ERR_GATEWAY_DEVICE_EXISTS', `device ${id} is already registered and active; revoke it first to issue a new key`);
    const keyVersion = existing === undefined ? 1 : existing.key_version + 1;
    const key = this.derivedKey(id, keyVersion);
    const keyHash = await hashSecret(key);
    // The hash ran on the thread pool: write only if nobody changed the row meanwhile.
    const written = existing === undefined
      ? this.db.prepare('INSERT OR IGNORE INTO devices (id, kind, merchant, status, key_version, key_hash, created_at) VALUES (?, ?, ?, \'active\', 1, ?, ?)').run(id, kind, merchant, keyHash, this.now())
      : this.db.prepare('UPDATE devices SET kind = ?, merchant = ?, status = \'active\', key_version = ?, key_hash = ? WHERE id = ? AND status = \'revoked\' AND key_version = ?').run(kind, merchant, keyVersion, keyHash, id, existing.key_version);
    if (written.changes !== 1) throw new DeviceRegistryError('TS_ERR_GATEWAY_REGISTRY_CONFLICT', `device ${id} was changed by someone else while it was being added; try again`);
    const device = toRecord(this.byId.get(id)!);
    return { device, secret: key.toString('base64url') };
  }

  /**
   * The active device this secret belongs to, or null (unknown, revoked, wrong secret). The
   * secret is first compared, in constant time, with the key derived from the master key,
   * so a wrong guess costs one HMAC and never a scrypt; a right one is then checked against
   * the stored hash once per (id, key version, secret) and remembered.
   */
  async verify(id: string, secret: string): Promise<DeviceRecord | null> {
    if (!DeviceId.safeParse(id).success || !secretPattern.test(secret)) return null;
    const row = this.byId.get(id);
    if (row === undefined || row.status !== 'active') return null;
    const given = Buffer.from(secret, 'base64url');
    // 43 base64url characters can carry stray low bits: only the canonical spelling is the secret.
    if (given.length !== 32 || given.toString('base64url') !== secret) return null;
    if (!timingSafeEqual(given, this.derivedKey(id, row.key_version))) return null;
    const cacheKey = `${id}#${row.key_version}#${createHash('sha256').update(given).digest('base64url')}`;
    if (this.verifiedSecrets.get(cacheKey) === undefined) {
      if (!(await secretMatchesHash(given, row.key_hash))) return null;
      this.verifiedSecrets.set(cacheKey, true);
    }
    // The scrypt may have yielded: a revoke or re-key in the meantime wins.
    const now = this.byId.get(id);
    return now !== undefined && now.status === 'active' && now.key_version === row.key_version ? toRecord(now) : null;
  }

  /** Revokes a device: it can no longer log in (a connection already open is the broker's to close). Revoking twice is a no-op. */
  revoke(id: string): DeviceRecord {
    if (!DeviceId.safeParse(id).success) throw new DeviceRegistryError('TS_ERR_GATEWAY_DEVICE_ID', `not a device id: ${JSON.stringify(id.slice(0, 80))}`);
    this.db.prepare('UPDATE devices SET status = \'revoked\' WHERE id = ?').run(id);
    const row = this.byId.get(id);
    if (row === undefined) throw new DeviceRegistryError('TS_ERR_GATEWAY_UNKNOWN_DEVICE', `no device ${id}`);
    return toRecord(row);
  }

  get(id: string): DeviceRecord | null {
    const row = this.byId.get(id);
    return row === undefined ? null : toRecord(row);
  }

  /** Every device, by id. Never a secret or hash. */
  list(): DeviceRecord[] {
    return this.all.all().map(toRecord);
  }

  /**
   * The device's current result-tag key (= its MQTT password, decoded), or null for an unknown
   * id. A revoked device still has one, so a decline addressed to it can be tagged. A copy:
   * the caller may keep or wipe it.
   */
  deviceKey(id: string): Buffer | null {
    const row = this.byId.get(id);
    return row === undefined ? null : Buffer.from(this.derivedKey(id, row.key_version));
  }

  close(): void {
    this.derivedKeys.clear();
    this.verifiedSecrets.clear();
    this.db.close();
  }

  private derivedKey(id: string, keyVersion: number): Buffer {
    const cacheKey = `${id}#${keyVersion}`;
    let key = this.derivedKeys.get(cacheKey);
    if (key === undefined) {
      key = deriveDeviceKey(this.masterKey, cacheKey);
      this.derivedKeys.set(cacheKey, key);
    }
    return key;
  }
}

function checkInput(input: { id: string; kind: string; merchant: string }): { id: string; kind: DeviceKind; merchant: string } {
  if (!DeviceId.safeParse(input.id).success) {
    throw new DeviceRegistryError('TS_ERR_GATEWAY_DEVICE_ID', `not a device id: ${JSON.stringify(String(input.id).slice(0, 80))} (1–64 of a-z 0-9 . _ -, starting with a letter or digit)`);
  }
  const kind = DeviceKind.safeParse(input.kind);
  if (!kind.success) throw new DeviceRegistryError('TS_ERR_GATEWAY_DEVICE_KIND', `kind must be one of ${DeviceKind.options.join(', ')}, got ${JSON.stringify(input.kind)}`);
  if (!AccountId.safeParse(input.merchant).success) throw new DeviceRegistryError('TS_ERR_GATEWAY_MERCHANT', `merchant must be an account id BBB-NNNNNNN, got ${JSON.stringify(input.merchant)}`);
  return { id: input.id, kind: kind.data, merchant: input.merchant };
}
