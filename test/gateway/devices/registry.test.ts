/** The device registry: secrets are derived keys, stored only as scrypt hashes; verify, revoke, re-key, bad input. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveDeviceKey } from '../../../protocol/index.ts';
import { DeviceRegistry, DeviceRegistryError } from '../../../gateway/devices/registry.ts';
import { scryptParams } from '../../../gateway/devices/key-hash.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';

const masterKey = Buffer.alloc(32, 0x5a);
let t: ReturnType<typeof tempDir>;
let path: string;
let registry: DeviceRegistry;

beforeEach(() => {
  t = tempDir('tapsettle-registry-');
  path = join(t.dir, 'data', 'gateway.db');
  registry = DeviceRegistry.open({ path, deviceMasterKey: masterKey, now: () => 1_800_000_000_000 });
});
afterEach(() => {
  registry.close();
  t.cleanup();
});

const codeOf = async (fn: () => unknown): Promise<string> => {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DeviceRegistryError) return err.code;
    throw err;
  }
  throw new Error('expected a DeviceRegistryError');
};

describe('DeviceRegistry', () => {
  it('adds a device: the secret is the derived device key, shown once, and stored only as a salted scrypt hash', async () => {
    const { device, secret } = await registry.add({ id: 'vm-1', kind: 'vending', merchant: '500-0000001' });
    expect(device).toEqual({ id: 'vm-1', kind: 'vending', merchant: '500-0000001', status: 'active', keyVersion: 1, createdAt: 1_800_000_000_000 });
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const key = deriveDeviceKey(masterKey, 'vm-1#1');
    expect(Buffer.from(secret, 'base64url').equals(key)).toBe(true);
    expect(registry.deviceKey('vm-1')?.equals(key)).toBe(true);
    await registry.add({ id: 'vm-2', kind: 'vending', merchant: '500-0000001' });

    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT id, key_hash FROM devices ORDER BY id').all() as { id: string; key_hash: string }[];
    db.close();
    const [a, b] = rows.map((r) => r.key_hash.split('$'));
    expect(a!.slice(0, 4)).toEqual(['scrypt', String(scryptParams.costN), String(scryptParams.blockSizeR), String(scryptParams.parallelizationP)]);
    expect(a![4]).not.toBe(b![4]);
    // A copy of the files gives no key away: neither the secret nor the key bytes are in them.
    registry.close();
    for (const file of [path, `${path}-wal`].filter(existsSync)) {
      const bytes = readFileSync(file);
      expect(bytes.includes(Buffer.from(secret)), file).toBe(false);
      expect(bytes.includes(key), file).toBe(false);
      expect(bytes.includes(Buffer.from(key.toString('hex'))), file).toBe(false);
    }
    registry = DeviceRegistry.open({ path, deviceMasterKey: masterKey });
    expect(await registry.verify('vm-1', secret)).toMatchObject({ id: 'vm-1', status: 'active' });
  });

  it('verifies only the right secret of an active device', async () => {
    const one = await registry.add({ id: 'gate-1', kind: 'gate', merchant: '500-0000001' });
    const two = await registry.add({ id: 'gate-2', kind: 'gate', merchant: '500-0000001' });
    expect(await registry.verify('gate-1', one.secret)).toMatchObject({ id: 'gate-1', keyVersion: 1 });
    expect(await registry.verify('gate-1', two.secret)).toBeNull();
    expect(await registry.verify('gate-2', one.secret)).toBeNull();
    expect(await registry.verify('nobody', one.secret)).toBeNull();
    expect(await registry.verify('gate-1', '')).toBeNull();
    expect(await registry.verify('gate-1', `${one.secret}A`)).toBeNull();
    expect(await registry.verify('gate-1', one.secret.slice(0, 42) + (one.secret.endsWith('A') ? 'B' : 'A'))).toBeNull();
    expect(await registry.verify('GATE-1', one.secret)).toBeNull();
    expect(await registry.verify('gate-1', Buffer.from(one.secret, 'base64url').toString('base64'))).toBeNull();
  });

  it('refuses a secret spelled with stray low bits in its last character', async () => {
    const { secret } = await registry.add({ id: 'k-1', kind: 'kiosk', merchant: '500-0000001' });
    // The last base64url character carries 4 bits of the key and 2 unused bits: flip an unused one.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(secret.at(-1)!);
    const sloppy = secret.slice(0, 42) + alphabet[last ^ 1]!;
    expect(Buffer.from(sloppy, 'base64url').equals(Buffer.from(secret, 'base64url'))).toBe(true);
    expect(await registry.verify('k-1', sloppy)).toBeNull();
    expect(await registry.verify('k-1', secret)).not.toBeNull();
  });

  it('remembers a successful scrypt check per (id, key version, secret): a tampered hash is not re-read until a new registry', async () => {
    const { secret } = await registry.add({ id: 'pos-1', kind: 'pos', merchant: '500-0000001' });
    expect(await registry.verify('pos-1', secret)).not.toBeNull();
    const db = new Database(path);
    db.prepare('UPDATE devices SET key_hash = ? WHERE id = ?').run('scrypt$4096$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'pos-1');
    db.close();
    expect(await registry.verify('pos-1', secret)).not.toBeNull();
    const fresh = DeviceRegistry.open({ path, deviceMasterKey: masterKey });
    try {
      expect(await fresh.verify('pos-1', secret)).toBeNull();
      // A stored hash asking scrypt for more memory than it allows does not match, and does not throw.
      const db2 = new Database(path);
      db2.prepare('UPDATE devices SET key_hash = ? WHERE id = ?').run('scrypt$1048576$32$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'pos-1');
      db2.close();
      expect(await fresh.verify('pos-1', secret)).toBeNull();
    } finally {
      fresh.close();
    }
  });

  it('revokes: the secret stops working; re-adding issues the next key version and a new secret', async () => {
    const first = await registry.add({ id: 'vm-9', kind: 'vending', merchant: '500-0000001' });
    expect(registry.revoke('vm-9')).toMatchObject({ status: 'revoked', keyVersion: 1 });
    expect(registry.revoke('vm-9')).toMatchObject({ status: 'revoked' });
    expect(await registry.verify('vm-9', first.secret)).toBeNull();
    expect(registry.deviceKey('vm-9')?.equals(deriveDeviceKey(masterKey, 'vm-9#1'))).toBe(true);

    const second = await registry.add({ id: 'vm-9', kind: 'kiosk', merchant: '500-0000002' });
    expect(second.device).toMatchObject({ status: 'active', keyVersion: 2, kind: 'kiosk', merchant: '500-0000002' });
    expect(second.secret).not.toBe(first.secret);
    expect(await registry.verify('vm-9', first.secret)).toBeNull();
    expect(await registry.verify('vm-9', second.secret)).toMatchObject({ keyVersion: 2 });
    expect(registry.deviceKey('vm-9')?.equals(deriveDeviceKey(masterKey, 'vm-9#2'))).toBe(true);
    expect(registry.deviceKey('unknown')).toBeNull();
  });

  it('a revoke while a first scrypt check runs wins', async () => {
    const { secret } = await registry.add({ id: 'vm-r', kind: 'vending', merchant: '500-0000001' });
    const checking = registry.verify('vm-r', secret);
    registry.revoke('vm-r');
    expect(await checking).toBeNull();
  });

  it('refuses an active id, concurrent adds of one id, and bad input, with coded errors', async () => {
    await registry.add({ id: 'vm-1', kind: 'vending', merchant: '500-0000001' });
    expect(await codeOf(() => registry.add({ id: 'vm-1', kind: 'vending', merchant: '500-0000001' }))).toBe('TS_ERR_GATEWAY_DEVICE_EXISTS');
    const both = await Promise.allSettled([registry.add({ id: 'vm-2', kind: 'pos', merchant: '500-0000001' }), registry.add({ id: 'vm-2', kind: 'pos', merchant: '500-0000001' })]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'TS_ERR_GATEWAY_REGISTRY_CONFLICT' } });

    expect(await codeOf(() => registry.add({ id: 'VM-1', kind: 'vending', merchant: '500-0000001' }))).toBe('TS_ERR_GATEWAY_DEVICE_ID');
    expect(await codeOf(() => registry.add({ id: 'vm/1', kind: 'vending', merchant: '500-0000001' }))).toBe('TS_ERR_GATEWAY_DEVICE_ID');
    expect(await codeOf(() => registry.add({ id: 'a'.repeat(65), kind: 'vending', merchant: '500-0000001' }))).toBe('TS_ERR_GATEWAY_DEVICE_ID');
    expect(await codeOf(() => registry.add({ id: 'vm-3', kind: 'toaster', merchant: '500-0000001' }))).toBe('TS_ERR_GATEWAY_DEVICE_KIND');
    expect(await codeOf(() => registry.add({ id: 'vm-3', kind: 'vending', merchant: '5000000001' }))).toBe('TS_ERR_GATEWAY_MERCHANT');
    expect(await codeOf(() => registry.revoke('nobody'))).toBe('TS_ERR_GATEWAY_UNKNOWN_DEVICE');
    expect(await codeOf(() => registry.revoke('#'))).toBe('TS_ERR_GATEWAY_DEVICE_ID');
    expect(await codeOf(() => DeviceRegistry.open({ path: join(t.dir, 'x.db'), deviceMasterKey: Buffer.alloc(16) }))).toBe('TS_ERR_GATEWAY_MASTER_KEY');
    expect(registry.list().map((d) => d.id)).toEqual(['vm-1', 'vm-2']);
  });

  it('refuses every id that is not a protocol device id (fuzzed)', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 80 }).filter((s) => !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(s)), async (id) => {
      expect(await codeOf(() => registry.add({ id, kind: 'gate', merchant: '500-0000001' }))).toBe('TS_ERR_GATEWAY_DEVICE_ID');
      expect(await registry.verify(id, 'A'.repeat(43))).toBeNull();
    }), { numRuns: 200 });
  });

  it('lists devices by id without secrets or hashes', async () => {
    await registry.add({ id: 'b', kind: 'gate', merchant: '500-0000001' });
    await registry.add({ id: 'a', kind: 'pos', merchant: '500-0000001' });
    const list = registry.list();
    expect(list.map((d) => d.id)).toEqual(['a', 'b']);
    for (const d of list) expect(Object.keys(d).sort()).toEqual(['createdAt', 'id', 'keyVersion', 'kind', 'merchant', 'status']);
    expect(registry.get('a')).toMatchObject({ kind: 'pos' });
    expect(registry.get('zz')).toBeNull();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});
