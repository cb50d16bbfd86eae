/**
 * `tapsettle keys …`: the installation's keys (cli/keys.ts). `show` prints
 * the key ids and public halves — never a private key or a master key —
 * for an operator writing device configs; `rotate-issuer` replaces the
 * ticket and e-money issuer key, keeping the old public half as retired so
 * what it signed stays valid. A running gateway signs with the key it loaded
 * until it is restarted.
 */
import type { Command } from 'commander';
import { keysPath } from '../context.ts';
import type { GlobalOptions } from '../context.ts';
import { loadKeys, rotateTicketIssuer } from '../keys.ts';
import { print, table } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

export function keysCommands(program: Command, run: Run): void {
  const keys = program.command('keys').description('the issuer keys: show the public halves, rotate the ticket and e-money issuer key');

  keys.command('show')
    .description('the ticket and e-money issuer key ids and public keys, the current one first (no private or master key)')
    .action(() => run((g) => {
      const k = loadKeys(keysPath(g));
      const rows = [
        { keyId: k.ticketIssuer.keyId, publicKey: k.ticketIssuer.publicKey, use: 'current: signs tickets and e-money' },
        ...k.retiredTicketIssuers.map((r) => ({ keyId: r.keyId, publicKey: r.publicKey, use: 'retired: verifies only' })),
      ];
      print(g.json ?? false, { issuer: rows }, () => table(rows));
      return Promise.resolve();
    }));

  keys.command('rotate-issuer')
    .description('a new ticket and e-money issuer key; the old one is kept as retired (verification only). Restart the gateway and push device configs with both keys')
    .action(() => run((g) => {
      const rotated = rotateTicketIssuer(keysPath(g));
      print(g.json ?? false, rotated, () => [
        `new issuer key ${rotated.keyId}; retired: ${rotated.retired.join(', ')}`,
        'restart the gateway to sign with it, and give devices both public keys (tapsettle keys show)',
      ].join('\n'));
      return Promise.resolve();
    }));
}
