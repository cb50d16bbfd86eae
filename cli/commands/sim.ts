/**
 * `tapsettle sim …`: simulated parts a technician runs beside real host
 * software. `sim pn532 --pty` serves the virtual PN532 on a pseudo-terminal,
 * so our driver, libnfc's nfc-list or any PN532 host program opens it as a
 * chip on a UART, and a simulated phone or tag lies in its field.
 *
 * The simulators are imported only when the command runs: an operator's
 * `tapsettle ledger …` never loads them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { deriveWalletKey, masterKeyBytes, uuidv7, WalletId } from '../../protocol/index.ts';
import type { SimulatedPhone } from '../../sim/phone/phone.ts';
import type { PlainTag } from '../../sim/pn532/plain-tag.ts';
import { keysPath } from '../context.ts';
import type { GlobalOptions } from '../context.ts';
import { loadKeys } from '../keys.ts';
import { CliError, exitCodes, parseIntArg, print } from '../output.ts';
import { simFleetCommand } from './sim-fleet.ts';
import { simTapCommand } from './sim-tap.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

/** The HSU rates a PN532 can be switched to (UM §7.2.2, SetSerialBaudRate BR 00..08); 115200 is its default. */
export const pn532BaudRates = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000] as const;

interface Pn532Options {
  pty?: boolean;
  baud: string;
  timing: boolean;
  dir?: string;
  phone?: boolean;
  walletId?: string;
  walletKey?: string;
  counterFile?: string;
  tag?: boolean;
}

type FieldEntry =
  | { kind: 'phone'; walletId: string; key: 'given' | 'derived' | 'demo' }
  | { kind: 'tag'; uid: string };

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Everything on the command line checked before any process or pty is started. */
function checkOptions(o: Pn532Options): number {
  if (o.pty !== true) {
    throw new CliError('TS_ERR_CLI_ARG', 'pass --pty: a pseudo-terminal is how another process reaches the virtual PN532 (tests in this process use a mock port)');
  }
  const baudRate = parseIntArg('--baud', o.baud, pn532BaudRates[0], pn532BaudRates[pn532BaudRates.length - 1] ?? 0);
  if (!(pn532BaudRates as readonly number[]).includes(baudRate)) {
    throw new CliError('TS_ERR_CLI_ARG', `--baud must be one of the PN532's rates (${pn532BaudRates.join(', ')}), got ${baudRate}`);
  }
  const phoneOnly = [['--wallet-id', o.walletId], ['--wallet-key', o.walletKey], ['--counter-file', o.counterFile]] as const;
  for (const [flag, value] of phoneOnly) {
    if (value !== undefined && o.phone !== true) throw new CliError('TS_ERR_CLI_ARG', `${flag} describes the simulated phone: add --phone`);
  }
  if (o.walletId !== undefined && !WalletId.safeParse(o.walletId).success) {
    throw new CliError('TS_ERR_CLI_ARG', `--wallet-id must be the UUIDv7 \`tapsettle ledger enroll\` printed, got ${JSON.stringify(o.walletId)}`);
  }
  if (o.walletKey !== undefined && o.walletId === undefined) throw new CliError('TS_ERR_CLI_ARG', '--wallet-key needs the --wallet-id it was derived for');
  return baudRate;
}

/**
 * The phone's wallet id and key: as given; or, for an enrolled wallet id
 * without a key, derived from this installation's issuer master key exactly
 * as the core derives it (so its cryptograms verify against this ledger);
 * or a throw-away demo wallet that no ledger knows.
 */
function walletOf(o: Pn532Options, g: GlobalOptions): { walletId: string; walletKey: Uint8Array; key: 'given' | 'derived' | 'demo' } {
  if (o.walletId === undefined) return { walletId: uuidv7(), walletKey: randomBytes(masterKeyBytes), key: 'demo' };
  if (o.walletKey === undefined) {
    return { walletId: o.walletId, walletKey: deriveWalletKey(loadKeys(keysPath(g)).issuerMasterKey, o.walletId), key: 'derived' };
  }
  const walletKey = Buffer.from(o.walletKey, 'base64');
  if (walletKey.byteLength !== masterKeyBytes || walletKey.toString('base64') !== o.walletKey) {
    throw new CliError('TS_ERR_CLI_ARG', `--wallet-key must be ${masterKeyBytes} bytes in base64, as \`tapsettle ledger enroll\` printed it`);
  }
  return { walletId: o.walletId, walletKey, key: 'given' };
}

/** The simulators' own coded errors keep their code on the way out; their options are usage errors. */
function asCliError(error: unknown): unknown {
  if (error instanceof CliError || !(error instanceof Error)) return error;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('TS_ERR_')) return error;
  if (code === 'TS_ERR_SIM_PTY_UNAVAILABLE') return new CliError(code, `${error.message}; install socat (apt install socat) or python3`, exitCodes.failed);
  return new CliError(code, error.message, code === 'TS_ERR_PHONE_OPTION' ? exitCodes.usage : exitCodes.failed);
}

/**
 * `stopped` resolves at the first SIGINT or SIGTERM. Installed before the
 * pty is made, so a signal that comes while it starts still ends in a clean
 * shutdown; a second signal finds no handler and ends the process at once
 * (the way out when a shutdown hangs).
 */
function stopSignal(): { stopped: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = (): void => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      dispose();
      resolve(signal);
    };
    dispose = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return { stopped, dispose };
}

function describeField(entries: readonly FieldEntry[]): string {
  if (entries.length === 0) return 'empty (start with --phone or --tag)';
  return entries.map((e) => (e.kind === 'tag' ? `plain tag, UID ${e.uid}` : `simulated phone, wallet ${e.walletId} (${e.key} key)`)).join('; ');
}

export function simCommands(program: Command, run: Run): void {
  const sim = program.command('sim').description('simulated parts for a station on a laptop');
  simFleetCommand(sim, run);
  simTapCommand(sim, run);

  sim.command('pn532')
    .description('serve a virtual PN532 on a pseudo-terminal until SIGINT/SIGTERM; prints the device path')
    .option('--pty', 'serve it on a pseudo-terminal (socat, or a python3 helper)')
    .option('--baud <n>', `UART rate of the timing model: ${pn532BaudRates.join(', ')}`, '115200')
    .option('--no-timing', 'answer at once instead of with a real chip\'s UART and RF latencies')
    .option('--dir <dir>', 'directory for the device link (default: a new temporary one)')
    .option('--phone', 'place a simulated phone with the tapsettle wallet in the field')
    .option('--wallet-id <uuid>', 'the phone\'s enrolled wallet id (default: a demo wallet no ledger knows)')
    .option('--wallet-key <base64>', 'the phone\'s wallet key (default: derived from the key file\'s issuer master key)')
    .option('--counter-file <path>', 'where the phone keeps its counter across restarts (default: memory)')
    .option('--tag', 'place a plain ISO 14443-A tag (no APDUs) in the field')
    .action((o: Pn532Options) => run(async (g) => {
      const baudRate = checkOptions(o);
      const { stopped, dispose } = stopSignal();
      // A live timer: the process waits for its signal even if the pty helper goes away underneath.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      try {
        const targets: Array<SimulatedPhone | PlainTag> = [];
        const field: FieldEntry[] = [];
        if (o.phone === true) {
          const { SimulatedPhone } = await import('../../sim/phone/phone.ts');
          const wallet = walletOf(o, g);
          targets.push(await SimulatedPhone.open({
            walletId: wallet.walletId, walletKey: wallet.walletKey, ...(o.counterFile === undefined ? {} : { counterFile: o.counterFile }),
          }));
          field.push({ kind: 'phone', walletId: wallet.walletId, key: wallet.key });
        }
        if (o.tag === true) {
          const { PlainTag } = await import('../../sim/pn532/plain-tag.ts');
          const tag = new PlainTag();
          targets.push(tag);
          field.push({ kind: 'tag', uid: hex(tag.uid) });
        }
        if (o.dir !== undefined) mkdirSync(o.dir, { recursive: true });
        const { startVirtualPn532 } = await import('../../sim/pn532/start.ts');
        const running = await startVirtualPn532({ baudRate, timing: o.timing, ...(o.dir === undefined ? {} : { dir: o.dir }) });
        try {
          for (const target of targets) running.field.place(target);
          const connstring = `pn532_uart:${running.hostPath}${baudRate === 115200 ? '' : `:${baudRate}`}`;
          print(g.json ?? false, { path: running.hostPath, via: running.via, baudRate, timing: o.timing, connstring, field }, () => [
            `virtual PN532 on ${running.hostPath} (via ${running.via}, ${baudRate} baud, timing ${o.timing ? 'on' : 'off'})`,
            `field: ${describeField(field)}`,
            `libnfc: LIBNFC_DEVICE=${connstring} nfc-list`,
            'stop with Ctrl-C',
          ].join('\n'));
          const signal = await stopped;
          if (g.json !== true) process.stdout.write(`${signal}: stopping\n`);
        } finally {
          await running.close();
        }
      } catch (error) {
        throw asCliError(error);
      } finally {
        dispose();
        clearInterval(keepAlive);
      }
      return exitCodes.ok;
    }));
}
