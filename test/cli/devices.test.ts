/** `tapsettle devices add|list|revoke`, run as a user runs it: a child process, its output and exit code. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveDeviceKey } from '../../protocol/index.ts';
import { DeviceRegistry } from '../../gateway/devices/registry.ts';
import { SqliteLedgerStore } from '../../settlement-core/index.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

/** Each run starts node with the TypeScript loader: ~2–3 s on the reference machine, more under load. */
const slowMs = 120_000;
const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
let t: ReturnType<typeof tempDir>;
let merchant: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '--data', t.dir, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const json = async (...args: string[]): Promise<unknown> => {
  const r = await cli('--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};
const masterKey = (): Buffer => Buffer.from((JSON.parse(readFileSync(join(t.dir, 'keys.json'), 'utf8')) as { deviceMasterKey: string }).deviceMasterKey, 'base64');

async function coreDevice(id: string): Promise<{ status: string; merchant: string } | null> {
  const store = new SqliteLedgerStore({ path: join(t.dir, 'tapsettle.db') });
  try {
    await store.migrate();
    return await store.getDevice(id);
  } finally {
    await store.close();
  }
}

async function verifies(id: string, secret: string): Promise<boolean> {
  const registry = DeviceRegistry.open({ path: join(t.dir, 'gateway.db'), deviceMasterKey: masterKey() });
  try {
    return (await registry.verify(id, secret)) !== null;
  } finally {
    registry.close();
  }
}

beforeAll(async () => {
  t = tempDir('tapsettle-cli-devices-');
  await json('ledger', 'init', '--currency', 'EUR');
  merchant = ((await json('ledger', 'open', '--kind', 'merchant', '--name', 'Shop', '--branch', '500')) as { id: string }).id;
}, slowMs);
afterAll(() => t.cleanup());

describe('tapsettle devices', () => {
  it('lists nothing before the first add', async () => {
    expect(await json('devices', 'list')).toEqual([]);
  });

  it('adds a device to the registry and the core, printing the secret once; list never shows it', async () => {
    const added = (await json('devices', 'add', 'vm-1', '--kind', 'vending', '--merchant', merchant)) as { id: string; secret: string; keyVersion: number; status: string };
    expect(added).toMatchObject({ id: 'vm-1', kind: 'vending', merchant, status: 'active', keyVersion: 1 });
    expect(Buffer.from(added.secret, 'base64url').equals(deriveDeviceKey(masterKey(), 'vm-1#1'))).toBe(true);
    expect(await verifies('vm-1', added.secret)).toBe(true);
    expect(await coreDevice('vm-1')).toMatchObject({ status: 'active', merchant });

    const human = await cli('devices', 'add', 'gate-1', '--kind', 'gate', '--merchant', merchant);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/secret \(the device's MQTT password; .*\): [A-Za-z0-9_-]{43}\n$/);

    const list = await cli('devices', 'list');
    expect(list.stdout).toMatch(/^device\s+kind\s+merchant\s+status\s+keyVersion\s+created/);
    expect(list.stdout).toContain('gate-1');
    expect(list.stdout).not.toContain(added.secret);
    const listed = (await json('devices', 'list')) as Record<string, unknown>[];
    expect(listed.map((d) => d.id)).toEqual(['gate-1', 'vm-1']);
    for (const d of listed) expect(Object.keys(d)).not.toContain('secret');
    expect(JSON.stringify(listed)).not.toContain('scrypt');
  }, slowMs);

  it('revokes in the registry and the core; adding again issues a new secret', async () => {
    const first = (await json('devices', 'add', 'pos-1', '--kind', 'pos', '--merchant', merchant)) as { secret: string };
    expect(await json('devices', 'revoke', 'pos-1')).toMatchObject({ id: 'pos-1', status: 'revoked' });
    expect(await verifies('pos-1', first.secret)).toBe(false);
    expect(await coreDevice('pos-1')).toMatchObject({ status: 'revoked' });
    const again = (await json('devices', 'add', 'pos-1', '--kind', 'pos', '--merchant', merchant)) as { secret: string; keyVersion: number };
    expect(again.keyVersion).toBe(2);
    expect(again.secret).not.toBe(first.secret);
    expect(await verifies('pos-1', again.secret)).toBe(true);
    expect(await coreDevice('pos-1')).toMatchObject({ status: 'active' });
  }, slowMs);

  it('refuses bad input and impossible requests with a code and an exit status, changing nothing', async () => {
    const cases: [string[], number, string][] = [
      [['devices', 'add', 'VM-2', '--kind', 'vending', '--merchant', merchant], 2, 'TS_ERR_CLI_ARG'],
      [['devices', 'add', 'vm-2', '--kind', 'toaster', '--merchant', merchant], 2, 'TS_ERR_CLI_ARG'],
      [['devices', 'add', 'vm-2', '--kind', 'vending', '--merchant', '5-1'], 2, 'TS_ERR_CLI_ARG'],
      [['devices', 'add', 'vm-2', '--kind', 'vending', '--merchant', '999-0000001'], 1, 'TS_ERR_UNKNOWN_ACCOUNT'],
      [['devices', 'add', 'vm-1', '--kind', 'vending', '--merchant', merchant], 1, 'TS_ERR_GATEWAY_DEVICE_EXISTS'],
      [['devices', 'revoke', 'nobody'], 1, 'TS_ERR_GATEWAY_UNKNOWN_DEVICE'],
      [['devices', 'revoke', 'Not/An/Id'], 2, 'TS_ERR_CLI_ARG'],
    ];
    for (const [args, code, errorCode] of cases) {
      const r = await cli('--json', ...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(JSON.parse(r.stderr), args.join(' ')).toMatchObject({ error: { code: errorCode } });
    }
    expect(await coreDevice('vm-2')).toBeNull();
    expect(((await json('devices', 'list')) as { id: string }[]).map((d) => d.id)).toEqual(['gate-1', 'pos-1', 'vm-1']);
    expect((await cli('devices', 'add', 'vm-3')).code).toBe(2);
  }, slowMs);
});
