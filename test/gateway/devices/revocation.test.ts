/**
 * `tapsettle devices revoke` runs in another process and writes the registry
 * file: a device it revokes (or revokes and re-adds with a new key) while
 * connected to a running gateway is cut off within the scan, and cannot log
 * in again with its old secret. Also the watch on its own.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../protocol/index.ts';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import { startGateway } from '../../../gateway/gateway.ts';
import type { GatewayKeys, RunningGateway } from '../../../gateway/gateway.ts';
import { DeviceRegistry } from '../../../gateway/devices/registry.ts';
import type { DeviceRecord } from '../../../gateway/devices/registry.ts';
import { watchRevocations } from '../../../gateway/devices/revocation-watch.ts';
import { closed, connectClient } from '../broker/harness.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';

const scanMs = 100;
let t: ReturnType<typeof tempDir>;
let gw: RunningGateway;
const keys: GatewayKeys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32), ticketIssuer: generateSigningKeyPair('issuer-revoke') };

beforeAll(async () => {
  t = tempDir('tapsettle-revoke-');
  gw = await startGateway(parseGatewayConfig({ data: t.dir, mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } }), keys, undefined, { revocationScanMs: scanMs });
});
afterAll(async () => {
  await gw.close();
  t.cleanup();
});

/** The CLI's view of the registry: its own handle on the same file. */
function cli<T>(fn: (r: DeviceRegistry) => T): T {
  const r = DeviceRegistry.open({ path: gw.paths.registry, deviceMasterKey: keys.deviceMasterKey });
  try {
    return fn(r);
  } finally {
    r.close();
  }
}

const login = (id: string, secret: string) => connectClient(gw.urls.mqtt, { clientId: id, username: id, password: secret, clean: true });

describe('a device revoked while connected', () => {
  it('is disconnected within the scan, and its old secret no longer logs in', async () => {
    const device = gw.demo!.devices.find((d) => d.id === 'vending-1')!;
    const first = await login(device.id, device.secret);
    if (!first.ok) throw new Error(first.message);
    const gone = closed(first.client);
    cli((r) => r.revoke(device.id));
    const started = Date.now();
    await gone;
    expect(Date.now() - started).toBeLessThan(scanMs * 30);
    expect(gw.broker.connectedDevices().map((c) => c.id)).not.toContain(device.id);
    const again = await login(device.id, device.secret);
    expect(again.ok).toBe(false);
  });

  it('re-keyed (revoked and added again at once): the connection under the old key is cut; the new secret logs in and stays', async () => {
    const device = gw.demo!.devices.find((d) => d.id === 'kiosk-1')!;
    const first = await login(device.id, device.secret);
    if (!first.ok) throw new Error(first.message);
    const gone = closed(first.client);
    const r = DeviceRegistry.open({ path: gw.paths.registry, deviceMasterKey: keys.deviceMasterKey });
    let fresh: { secret: string };
    try {
      r.revoke(device.id);
      fresh = await r.add({ id: device.id, kind: device.kind, merchant: gw.demo!.merchant });
    } finally {
      r.close();
    }
    await gone;
    const next = await login(device.id, fresh.secret);
    if (!next.ok) throw new Error(next.message);
    await new Promise((r) => setTimeout(r, scanMs * 5));
    expect(next.client.connected).toBe(true);
    await next.client.endAsync(true);
  });
});

describe('the watch on its own', () => {
  it('cuts revoked, unknown and re-keyed devices and leaves the rest', async () => {
    const records = new Map<string, DeviceRecord>([
      ['a', { id: 'a', kind: 'gate', merchant: '500-0000001', status: 'active', keyVersion: 1, createdAt: 0 }],
      ['b', { id: 'b', kind: 'gate', merchant: '500-0000001', status: 'active', keyVersion: 1, createdAt: 0 }],
      ['c', { id: 'c', kind: 'gate', merchant: '500-0000001', status: 'active', keyVersion: 1, createdAt: 0 }],
    ]);
    let connected: { id: string; keyVersion: number | null }[] = [{ id: 'a', keyVersion: 1 }, { id: 'b', keyVersion: 1 }, { id: 'c', keyVersion: 1 }];
    const cuts: string[] = [];
    const w = watchRevocations({
      record: (id) => records.get(id) ?? null, connected: () => connected, scanMs: 60_000,
      disconnect: (id) => {
        connected = connected.filter((c) => c.id !== id);
        return Promise.resolve(true);
      },
      onCut: (id, why) => cuts.push(`${id}:${why}`),
    });
    try {
      expect(await w.scan()).toEqual([]);
      records.set('a', { ...records.get('a')!, status: 'revoked' });
      records.set('b', { ...records.get('b')!, keyVersion: 2 });
      records.delete('c');
      expect(await w.scan()).toEqual(['a', 'b', 'c']);
      expect(cuts).toEqual(['a:revoked', 'b:re-keyed', 'c:unknown']);
      records.set('a', { ...records.get('a')!, status: 'active', keyVersion: 2 });
      connected = [{ id: 'a', keyVersion: 2 }, { id: 'b', keyVersion: 2 }, { id: 'd', keyVersion: null }];
      records.set('d', { ...records.get('b')!, id: 'd' });
      expect(await w.scan()).toEqual([]);
    } finally {
      w.stop();
    }
  });
});
