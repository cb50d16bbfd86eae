/**
 * `tapsettle`: the operator's command. Exit codes: 0 ok, 1 the command failed
 * or found a problem, 2 the command line or its input is wrong.
 */
import { Command, CommanderError } from 'commander';
import type { GlobalOptions } from './context.ts';
import { ledgerCommands } from './commands/ledger.ts';
import { devicesCommands } from './commands/devices.ts';
import { walletsCommands } from './commands/wallets.ts';
import { simCommands } from './commands/sim.ts';
import { startCommands } from './commands/start.ts';
import { configCommands } from './commands/config.ts';
import { deviceCommands } from './commands/device.ts';
import { issuerCommands } from './commands/issuer.ts';
import { cardsCommands } from './commands/cards.ts';
import { keysCommands } from './commands/keys.ts';
import { exitCodes, fail } from './output.ts';

export function buildProgram(): Command {
  const program = new Command('tapsettle')
    .description('cashless settlement for unattended machines')
    .option('--data <dir>', 'data directory (database, keys)', process.env.TAPSETTLE_DATA ?? './data')
    .option('--db <path>', 'ledger database file (default <data>/tapsettle.db)')
    .option('--keys <path>', 'key file (default <data>/keys.json)')
    .option('--json', 'print data as JSON for scripts')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  const run = async (action: (g: GlobalOptions) => Promise<number | void>): Promise<void> => {
    const g = program.opts<GlobalOptions>();
    try {
      process.exitCode = (await action(g)) ?? exitCodes.ok;
    } catch (err) {
      process.exitCode = fail(err, g.json ?? false);
    }
  };
  ledgerCommands(program, run);
  devicesCommands(program, run);
  walletsCommands(program, run);
  simCommands(program, run);
  startCommands(program, run);
  configCommands(program, run);
  deviceCommands(program, run);
  issuerCommands(program, run);
  cardsCommands(program, run);
  keysCommands(program, run);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
      return;
    }
    process.exitCode = fail(err, false);
  }
}

await main(process.argv);
