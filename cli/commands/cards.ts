/**
 * `tapsettle cards …`: card sales on a running gateway, through its admin
 * HTTP (gateway/http/card-admin.ts; docs/card-settlement.md, "Operator:
 * listing and reversing card sales"). The gateway must have an admin token;
 * the command presents it from `--token-file` or TAPSETTLE_ADMIN_TOKEN.
 * Nothing here opens a database: the gateway owns the card log.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { cardAuthorizationsDefault, cardAuthorizationsMax } from '../../gateway/http/card-admin.ts';
import type { AuthorizationView } from '../../gateway/http/card-admin.ts';
import { UuidV7 } from '../../protocol/index.ts';
import type { GlobalOptions } from '../context.ts';
import { CliError, exitCodes, parseIntArg, print, table } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

/** One admin request, connect to last byte: the gateway answers a list or a reversal well within this (its issuer deadline is 5 s). */
export const adminRequestTimeoutMs = 15_000;
/** A token file holds one token (the gateway takes 16..256 characters). */
const tokenFileBytesMax = 1024;
export const adminTokenEnv = 'TAPSETTLE_ADMIN_TOKEN';

/** The admin HTTP of a gateway started with the default config on this machine. */
export const defaultAdminUrl = (): string => `http://127.0.0.1:${parseGatewayConfig({}).http.port}`;

interface AdminOptions { url?: string; tokenFile?: string }

function adminUrl(o: AdminOptions): URL {
  const raw = o.url ?? defaultAdminUrl();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('TS_ERR_CLI_ARG', `--url must be the gateway's admin URL, http(s)://host:port, got ${JSON.stringify(raw.slice(0, 80))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('TS_ERR_CLI_ARG', `--url must be http:// or https://, got ${url.protocol}`);
  return url;
}

function adminToken(o: AdminOptions): string {
  let token: string;
  if (o.tokenFile !== undefined) {
    const bytes = readFileSync(o.tokenFile);
    if (bytes.byteLength > tokenFileBytesMax) throw new CliError('TS_ERR_CLI_ARG', `--token-file: expected one admin token, the file has ${bytes.byteLength} bytes`);
    token = bytes.toString('utf8').trim();
  } else {
    token = process.env[adminTokenEnv]?.trim() ?? '';
    if (token === '') throw new CliError('TS_ERR_CLI_ARG', `the gateway's admin token is needed: --token-file <file> or ${adminTokenEnv}`);
  }
  if (token === '' || /\s/.test(token)) throw new CliError('TS_ERR_CLI_ARG', '--token-file: expected one admin token on one line');
  return token;
}

/** One call to the admin HTTP: the parsed JSON of a 2xx; a coded error answer becomes that error (exit 1). */
async function request(o: AdminOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const url = new URL(path, adminUrl(o));
  const token = adminToken(o);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(adminRequestTimeoutMs),
    });
    text = await res.text();
  } catch (err) {
    const why = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? `no answer within ${adminRequestTimeoutMs} ms` : 'could not connect';
    throw new CliError('TS_ERR_CLI_HTTP', `${method} ${url.origin}${url.pathname}: ${why}; is the gateway running with cards: and its admin HTTP at ${url.origin}?`, exitCodes.failed);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (res.ok) {
    if (parsed === null) throw new CliError('TS_ERR_CLI_HTTP', `${method} ${url.pathname}: the gateway answered ${res.status} without JSON`, exitCodes.failed);
    return { status: res.status, body: parsed };
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code === 'string' && typeof error.message === 'string') throw new CliError(error.code, `${method} ${url.pathname}: ${res.status} ${error.message}`, exitCodes.failed);
  throw new CliError('TS_ERR_CLI_HTTP', `${method} ${url.pathname}: the gateway answered ${res.status}`, exitCodes.failed);
}

const who = (a: AuthorizationView): string => `${a.who.kind} ${a.who.id}`;
const reversalCell = (a: AuthorizationView): string => (a.reversal === null ? '' : `${a.reversal.state} ${a.reversal.reason} (${a.reversal.requestedBy}; ledger ${a.reversal.ledger ?? '-'}, issuer ${a.reversal.issuer ?? '-'})`);
const row = (a: AuthorizationView) => ({
  authorization: a.authorizationId, requested: a.requestedAt, who: who(a), card: a.card.masked, token: a.card.token, minor: a.amount.minor, currency: a.amount.currency,
  code: a.responseCode === null ? 'pending' : `${a.responseCode}${a.final ? '' : ' (not final)'}`, capture: a.capture?.status ?? '', reversal: reversalCell(a),
});

interface ReversalAnswer { authorizationId: string; status: string; reason: string; amount: { minor: number; currency: string } | null }

export function cardsCommands(program: Command, run: Run): void {
  const cards = program.command('cards').description('card sales on a running gateway (its admin HTTP; needs the admin token): list, reverse');
  const adminOptions = (c: Command) => c
    .option('--url <adminUrl>', `the gateway's admin HTTP (default ${defaultAdminUrl()})`)
    .option('--token-file <file>', `a file holding the gateway's admin token (default: ${adminTokenEnv})`);

  adminOptions(cards.command('list'))
    .description('card authorizations, newest first: who, masked card, amount, response code, capture, reversal (never a card number)')
    .option('--limit <n>', `how many (1..${cardAuthorizationsMax})`, String(cardAuthorizationsDefault))
    .option('--before <authorizationId>', 'the page after this authorization (the `next` of the previous page)')
    .action((o: AdminOptions & { limit: string; before?: string }) => run(async (g) => {
      const limit = parseIntArg('--limit', o.limit, 1, cardAuthorizationsMax);
      if (o.before !== undefined && !UuidV7.safeParse(o.before).success) throw new CliError('TS_ERR_CLI_ARG', '--before must be an authorization id (a lower-case UUIDv7)');
      const query = new URLSearchParams({ limit: String(limit), ...(o.before !== undefined ? { before: o.before } : {}) });
      const { body } = await request(o, 'GET', `/v1/card-authorizations?${query.toString()}`);
      const page = body as { authorizations: AuthorizationView[]; next: string | null };
      print(g.json ?? false, page, () => `${table(page.authorizations.map(row))}${page.next === null ? '' : `\nmore: tapsettle cards list --before ${page.next}`}`);
    }));

  adminOptions(cards.command('reverse'))
    .description('undo a card sale as the operator (a refund): the merchant pays it back in the ledger and the card\'s open-to-buy comes back at the issuer; idempotent')
    .argument('<authorizationId>', 'the sale\'s authorization id (from cards list)')
    .action((id: string, o: AdminOptions) => run(async (g) => {
      if (!UuidV7.safeParse(id).success) throw new CliError('TS_ERR_CLI_ARG', 'the authorization id must be a lower-case UUIDv7 (see tapsettle cards list)');
      const { status, body } = await request(o, 'POST', `/v1/card-authorizations/${id}/reversal`, { reason: 'operator' });
      const r = body as ReversalAnswer;
      const amount = r.amount === null ? 'no amount' : `${r.amount.minor} ${r.amount.currency} (minor units)`;
      print(g.json ?? false, r, () => (status === 202
        ? `reversal of ${r.authorizationId} recorded (${r.reason}), still pending: the gateway completes it; run the same command again to see it done`
        : `reversal of ${r.authorizationId}: ${r.status} (${r.reason}), ${amount}`));
    }));
}
