/**
 * `tapsettle issuer …`: the card issuer host of claim 36 (the card
 * authentication apparatus) as its own process, and its card table.
 *
 * Inside these commands `--db` names the issuer database (default
 * <data>/issuer.db), never the ledger: the issuer is its own institution.
 * Its pepper and acquirer token live in <data>/issuer-secrets.json
 * (--secrets), created on first use. A card number is printed masked only.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { CardError, CardStore, cardStatuses, ensureIssuerSecrets, issuerSecretsPath, loadIssuerSecrets } from '../../settlement-core/cards/index.ts';
import type { CardStatus, CardView } from '../../settlement-core/cards/index.ts';
import { limits } from '../../protocol/index.ts';
import type { GlobalOptions } from '../context.ts';
import { CliError, exitCodes, parseIntArg, print, table } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

/** A PAN read from stdin (`--pan -`) is one line; anything longer is not a card number. */
const stdinBytesMax = 64;

const issuerDb = (g: GlobalOptions): string => g.db ?? join(g.data, 'issuer.db');
const secretsFile = (g: GlobalOptions, o: { secrets?: string }): string => o.secrets ?? issuerSecretsPath(g.data);

function withCards<T>(g: GlobalOptions, o: { secrets?: string }, fn: (store: CardStore) => T): T {
  const path = secretsFile(g, o);
  ensureIssuerSecrets(path);
  const store = new CardStore({ path: issuerDb(g), pepper: loadIssuerSecrets(path).pepper });
  try {
    return fn(store);
  } catch (err) {
    // A card the operator typed wrong is a usage error (exit 2); the message names the field, never the number.
    if (err instanceof CardError && err.code === 'TS_ERR_CARD_INVALID_ARGUMENT') throw new CliError(err.code, err.message, exitCodes.usage);
    throw err;
  } finally {
    store.close();
  }
}

async function readPan(value: string): Promise<string> {
  if (value !== '-') return value;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    total += b.byteLength;
    if (total > stdinBytesMax) throw new CliError('TS_ERR_CLI_ARG', '--pan -: expected one card number on stdin');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

const row = (c: CardView) => ({ token: c.token, card: c.masked, expiry: c.expiry, status: c.status, currency: c.currency, limit: c.authLimitMinor, openToBuy: c.openToBuyMinor, pin: c.hasPin ? 'yes' : 'no', mccs: c.permittedMccs?.join(',') ?? 'any' });

interface AddCardOptions {
  pan: string; expiry: string; cvv: string; pin?: string; currency: string; limit: string; openToBuy: string; pinAbove?: string; mcc?: string; status?: string; secrets?: string;
}

function parseStatus(value: string): CardStatus {
  if (!(cardStatuses as readonly string[]).includes(value)) throw new CliError('TS_ERR_CLI_ARG', `status must be one of ${cardStatuses.join(', ')}`);
  return value as CardStatus;
}

export function issuerCommands(program: Command, run: Run): void {
  const issuer = program.command('issuer').description('the card issuer host (claim 36): the card authentication apparatus and its card table');
  const secretsOption = (c: Command) => c
    .option('--db <path>', 'issuer database (default <data>/issuer.db; never the ledger)')
    .option('--secrets <path>', 'issuer secrets: pepper and acquirer token (default <data>/issuer-secrets.json, created if missing)');

  secretsOption(issuer.command('start'))
    .description('serve POST /v1/authorizations until SIGINT/SIGTERM; the card processing apparatus presents the acquirer token from the secrets file')
    .option('--port <port>', 'HTTP port (0 = any free port)', '7400')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action((o: { port: string; host: string; secrets?: string }) => run(async (g) => {
      const port = parseIntArg('--port', o.port, 0, 65535);
      const path = secretsFile(g, o);
      const created = ensureIssuerSecrets(path);
      const secrets = loadIssuerSecrets(path);
      const { startIssuerHost } = await import('../../settlement-core/cards/issuer-host.ts');
      const host = await startIssuerHost({ dbPath: issuerDb(g), pepper: secrets.pepper, acquirerToken: secrets.acquirerToken, port, host: o.host, logger: pino({ level: 'info' }) });
      print(g.json ?? false, { url: host.url, db: issuerDb(g), secrets: path, createdSecrets: created }, () =>
        `tapsettle issuer host is up\n  authorizations  ${host.url}/v1/authorizations\n  database        ${issuerDb(g)}\n  secrets         ${path}${created ? ' (created)' : ''}\nCtrl-C to stop.`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await host.close();
      return exitCodes.ok;
    }));

  secretsOption(issuer.command('add-card'))
    .description('add a card to the issuer\'s table; prints its token and the masked number only')
    .requiredOption('--pan <digits>', 'card number (or - to read it from stdin, kept out of shell history)')
    .requiredOption('--expiry <YYMM>', 'expiry month')
    .requiredOption('--cvv <digits>', 'card verification value (3 or 4 digits)')
    .option('--pin <digits>', 'PIN (4 to 12 digits)')
    .option('--currency <code>', 'ISO 4217 currency of the card', 'EUR')
    .requiredOption('--limit <minor>', 'largest single authorization, in minor units')
    .requiredOption('--open-to-buy <minor>', 'what the card may spend, in minor units')
    .option('--pin-above <minor>', 'a PIN is needed above this amount')
    .option('--mcc <codes>', 'comma-separated merchant category codes the card may be used at (default any)')
    .option('--status <status>', `one of ${cardStatuses.join(', ')}`, 'active')
    .action((o: AddCardOptions) => run(async (g) => {
      const pan = await readPan(o.pan);
      const card = withCards(g, o, (store) => store.addCard({
        pan, expiry: o.expiry, cvv: o.cvv, ...(o.pin !== undefined ? { pin: o.pin } : {}), currency: o.currency,
        authLimitMinor: parseIntArg('--limit', o.limit, 1, limits.amountMinorMax),
        openToBuyMinor: parseIntArg('--open-to-buy', o.openToBuy, 0, limits.balanceMinorMax),
        ...(o.pinAbove !== undefined ? { pinAboveMinor: parseIntArg('--pin-above', o.pinAbove, 0, limits.amountMinorMax) } : {}),
        ...(o.mcc !== undefined ? { permittedMccs: o.mcc.split(',').map((s) => s.trim()) } : {}),
        status: parseStatus(o.status ?? 'active'),
      }));
      print(g.json ?? false, card, () => `added card ${card.masked}, token ${card.token}, ${card.status}`);
    }));

  secretsOption(issuer.command('cards'))
    .description('list the cards: token, masked number, status, limits')
    .action((o: { secrets?: string }) => run(async (g) => {
      const list = withCards(g, o, (store) => store.listCards());
      print(g.json ?? false, list, () => table(list.map(row)));
      await Promise.resolve();
    }));

  secretsOption(issuer.command('set-status'))
    .description(`block, restrict or reactivate a card (${cardStatuses.join(', ')}); active also clears its wrong-verification count`)
    .argument('<token>', 'card token ct_…')
    .argument('<status>', cardStatuses.join(' | '))
    .action((token: string, status: string, o: { secrets?: string }) => run(async (g) => {
      const card = withCards(g, o, (store) => store.setStatus(token, parseStatus(status)));
      print(g.json ?? false, card, () => `card ${card.masked} (${card.token}) is ${card.status}`);
      await Promise.resolve();
    }));
}

