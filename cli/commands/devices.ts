/**
 * `tapsettle devices …`: which devices may log in to the broker. A device is
 * registered twice — in the gateway's registry (<data>/gateway.db: its login)
 * and in the core (the merchant it sells for) — and revoked in both.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AccountId, DeviceId, DeviceKind } from '../../protocol/index.ts';
import { DeviceRegistry, DeviceRegistryError } from '../../gateway/devices/registry.ts';
import type { DeviceRecord, DeviceRegistryErrorCode } from '../../gateway/devices/registry.ts';
import { keysPath, withCore } from '../context.ts';
import type { GlobalOptions } from '../context.ts';
import { loadKeys } from '../keys.ts';
import { CliError, exitCodes, print, table } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

/** The device registry, beside the ledger: the file the gateway opens (gateway/gateway.ts). */
export const registryPath = (g: GlobalOptions): string => join(g.data, 'gateway.db');

/** Registry errors that mean the command line is wrong (exit 2); the others are operating errors (exit 1). */
const inputErrors: ReadonlySet<DeviceRegistryErrorCode> = new Set(['TS_ERR_GATEWAY_DEVICE_ID', 'TS_ERR_GATEWAY_DEVICE_KIND', 'TS_ERR_GATEWAY_MERCHANT']);

async function withRegistry<T>(g: GlobalOptions, fn: (registry: DeviceRegistry) => Promise<T>): Promise<T> {
  const registry = DeviceRegistry.open({ path: registryPath(g), deviceMasterKey: loadKeys(keysPath(g)).deviceMasterKey });
  try {
    return await fn(registry);
  } catch (err) {
    if (err instanceof DeviceRegistryError) throw new CliError(err.code, err.message, inputErrors.has(err.code) ? exitCodes.usage : exitCodes.failed);
    throw err;
  } finally {
    registry.close();
  }
}

function checkArgs(id: string, kind: string, merchant: string): { id: string; kind: DeviceKind; merchant: string } {
  if (!DeviceId.safeParse(id).success) throw new CliError('TS_ERR_CLI_ARG', `device id must be 1–64 of a-z 0-9 . _ - (starting with a letter or digit), got ${JSON.stringify(id.slice(0, 80))}`);
  const k = DeviceKind.safeParse(kind);
  if (!k.success) throw new CliError('TS_ERR_CLI_ARG', `--kind must be one of ${DeviceKind.options.join(', ')}, got ${JSON.stringify(kind)}`);
  if (!AccountId.safeParse(merchant).success) throw new CliError('TS_ERR_CLI_ARG', `--merchant must be an account id BBB-NNNNNNN, got ${JSON.stringify(merchant)}`);
  return { id, kind: k.data, merchant };
}

const row = (d: DeviceRecord) => ({ device: d.id, kind: d.kind, merchant: d.merchant, status: d.status, keyVersion: d.keyVersion, created: new Date(d.createdAt).toISOString() });

export function devicesCommands(program: Command, run: Run): void {
  const devices = program.command('devices').description('devices that may log in to the gateway\'s broker: add (prints the secret once), list, revoke');

  devices.command('add')
    .description('register a device with the gateway and the core; prints its secret (MQTT password and result-tag key) ONCE')
    .argument('<id>', 'device id (its MQTT username and client id)')
    .requiredOption('--kind <kind>', DeviceKind.options.join(', '))
    .requiredOption('--merchant <account>', 'merchant account it sells for, BBB-NNNNNNN')
    .action((id: string, o: { kind: string; merchant: string }) => run(async (g) => {
      const input = checkArgs(id, o.kind, o.merchant);
      const { device, secret } = await withRegistry(g, async (registry) => {
        // Checked before the core is touched, so a refused add changes nothing there.
        if (registry.get(input.id)?.status === 'active') throw new CliError('TS_ERR_GATEWAY_DEVICE_EXISTS', `device ${input.id} is already registered and active; revoke it first to issue a new secret`, exitCodes.failed);
        await withCore(g, (core) => core.registerDevice({ ...input, status: 'active' }));
        return registry.add(input);
      });
      print(g.json ?? false, { ...device, secret }, () => [
        `device ${device.id} (${device.kind}) sells for ${device.merchant}, key version ${device.keyVersion}`,
        `secret (the device's MQTT password; put it on the device now, it is not shown again): ${secret}`,
      ].join('\n'));
    }));

  devices.command('list')
    .description('registered devices and their status (never a secret)')
    .action(() => run(async (g) => {
      const list = existsSync(registryPath(g)) ? await withRegistry(g, (registry) => Promise.resolve(registry.list())) : [];
      print(g.json ?? false, list, () => table(list.map(row)));
    }));

  devices.command('revoke')
    .description('revoke a device: it can no longer log in, and the core declines its settlements')
    .argument('<id>', 'device id')
    .action((id: string) => run(async (g) => {
      if (!DeviceId.safeParse(id).success) throw new CliError('TS_ERR_CLI_ARG', `not a device id: ${JSON.stringify(id.slice(0, 80))}`);
      // The login goes first: from here the device cannot open a new connection.
      const device = await withRegistry(g, (registry) => Promise.resolve(registry.revoke(id)));
      await withCore(g, (core) => core.registerDevice({ id: device.id, kind: device.kind, merchant: device.merchant, status: 'revoked' }));
      print(g.json ?? false, device, () => `device ${device.id} revoked; a connection it has open now stays until it drops, but the core declines its settlements (device-not-active). \`devices add ${device.id}\` issues a new secret.`);
    }));
}
