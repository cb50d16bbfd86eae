/** `tapsettle config push FILE`: validate a device config and hand it to the gateway (published retained within seconds). */
import { join } from 'node:path';
import type { Command } from 'commander';
import { DeviceConfigError, parseDeviceConfigFile, placeDeviceConfig } from '../../gateway/device-configs.ts';
import type { DeviceConfig } from '../../protocol/index.ts';
import type { GlobalOptions } from '../context.ts';
import { CliError, exitCodes, print } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

export function configCommands(program: Command, run: Run): void {
  const config = program.command('config').description('retained per-device config: catalog, fare table, deny list, keys');
  config.command('push')
    .description('validate a device config (YAML or JSON, protocol DeviceConfig) and place it for the gateway to publish retained; its version must be higher than the stored one')
    .argument('<file>', 'config file')
    .action((file: string) => run((g) => {
      let parsed: DeviceConfig;
      let path: string;
      try {
        parsed = parseDeviceConfigFile(file);
        path = placeDeviceConfig(join(g.data, 'device-configs'), parsed);
      } catch (err) {
        if (err instanceof DeviceConfigError) throw new CliError(err.code, err.message, exitCodes.usage);
        throw err;
      }
      print(g.json ?? false, { deviceId: parsed.deviceId, version: parsed.version, path }, () => `config version ${parsed.version} for ${parsed.deviceId} placed at ${path}; a running gateway publishes it within seconds`);
      return Promise.resolve();
    }));
}
