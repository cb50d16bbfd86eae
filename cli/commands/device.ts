/**
 * `tapsettle device <vending|kiosk|gate|pos> --config FILE`: runs one device
 * host — the program a Pi runs — on the parts its device file names (real or
 * simulated). Ctrl-C or SIGTERM stops it cleanly: the sale in progress ends,
 * the retained state says offline, pending outbox entries stay on disk.
 */
import type { Command } from 'commander';
import { DeviceKind } from '../../protocol/index.ts';
import type { GlobalOptions } from '../context.ts';
import { CliError, exitCodes } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

interface DeviceOptions {
  config?: string;
  check?: boolean;
  timing?: boolean;
}

async function runDevice(g: GlobalOptions, kindArg: string, o: DeviceOptions): Promise<number> {
  const kind = DeviceKind.safeParse(kindArg);
  if (!kind.success) throw new CliError('TS_ERR_CLI_ARGUMENT', `device kind must be one of ${DeviceKind.options.join(', ')}, got "${kindArg}"`);
  if (o.config === undefined) throw new CliError('TS_ERR_CLI_ARGUMENT', `--config FILE is required: the device file (see docs/devices.md)`);
  const [{ hostKinds }, { loadDeviceFile }, { startHost }, { openDeviceParts }] = await Promise.all([
    import('../../firmware-hosts/kinds.ts'), import('../../firmware-hosts/runtime/host-kind.ts'),
    import('../../firmware-hosts/runtime/host.ts'), import('../device-parts.ts'),
  ]);
  const hostKind = hostKinds[kind.data];
  let file;
  try {
    file = loadDeviceFile(hostKind, o.config);
  } catch (err) {
    throw new CliError((err as { code?: string }).code ?? 'TS_ERR_DEVICE_FILE', (err as Error).message, exitCodes.usage);
  }
  if (o.check === true) {
    process.stdout.write(g.json ? `${JSON.stringify({ ok: true, device: file.device.id, kind: file.device.kind })}\n` : `${o.config}: a valid ${kind.data} device file for ${file.device.id}\n`);
    return exitCodes.ok;
  }
  const { parts } = await openDeviceParts(file.parts, { timing: o.timing !== false });
  const host = await startHost({ file, parts, program: (ctx) => hostKind.program(ctx) });
  const summary = { device: host.deviceId, kind: kind.data, readyMs: Math.round(host.readyMs), http: host.http?.url ?? null, watchdog: host.watchdog.enabled };
  process.stdout.write(g.json ? `${JSON.stringify(summary)}\n` : `device ${host.deviceId} (${kind.data}) ready in ${summary.readyMs} ms${summary.http ? `; health ${summary.http}/healthz` : ''}. Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  process.stderr.write('stopping: finishing the sale in progress, closing the link …\n');
  await host.close();
  return exitCodes.ok;
}

export function deviceCommands(program: Command, run: Run): void {
  program.command('device')
    .description('run a device host (vending machine, ticket kiosk, transit gate, purchase terminal) from its device file')
    .argument('<kind>', `one of ${DeviceKind.options.join(', ')}`)
    .option('--config <file>', 'the device file (YAML): identity, gateway, parts (real or sim), behaviour')
    .option('--check', 'validate the device file and exit')
    .option('--no-timing', 'simulated PN532 without its UART/RF timing model')
    .action((kind: string, o: DeviceOptions) => run((g) => runDevice(g, kind, o)));
}
