/** `tapsettle ledger …`: an operator's view of and hand on the ledger. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { AccountId, AgeBand, DeviceKind, UuidV7, formatMoney, uuidv7 } from '../../protocol/index.ts';
import { audit, journalStates } from '../../settlement-core/index.ts';
import type { JournalState } from '../../settlement-core/index.ts';
import { dbPath, keysPath, withCore, withStore } from '../context.ts';
import type { GlobalOptions } from '../context.ts';
import { ensureKeys } from '../keys.ts';
import { CliError, exitCodes, parseIntArg, parseTimeArg, print, table } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

function accountArg(value: string): string {
  if (!AccountId.safeParse(value).success) throw new CliError('TS_ERR_CLI_ARG', `account must be BBB-NNNNNNN (branch, account number), got ${JSON.stringify(value)}`);
  return value;
}

const money = (minor: number | null, currency: string | null) => (minor === null || currency === null ? '' : formatMoney(minor, currency));
const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

export function ledgerCommands(program: Command, run: Run): void {
  const ledger = program.command('ledger').description('accounts, funding, statements, the journal and the audit');

  ledger.command('init')
    .description('create the database and key file (once), and set up a currency\'s system accounts')
    .option('--currency <code>', 'ISO 4217 currency', 'EUR')
    .action((o: { currency: string }) => run(async (g) => {
      mkdirSync(dirname(dbPath(g)), { recursive: true });
      const createdKeys = ensureKeys(keysPath(g));
      const created = await withCore(g, (core) => core.initCurrency(o.currency));
      print(g.json ?? false, { database: dbPath(g), keys: keysPath(g), createdKeys, created }, () =>
        [`database  ${dbPath(g)}`, `keys      ${keysPath(g)}${createdKeys ? ' (created; back it up, keep it secret)' : ''}`,
          created.length > 0 ? table(created.map((a) => ({ account: a.id, kind: a.kind, currency: a.currency }))) : `${o.currency} was already set up`].join('\n'));
    }));

  ledger.command('open')
    .description('open a customer or merchant account')
    .requiredOption('--kind <kind>', 'customer or merchant')
    .requiredOption('--name <name>', 'holder name')
    .option('--branch <n>', 'branch 1..999 (next free account number is used)')
    .option('--id <account>', 'exact account id BBB-NNNNNNN')
    .option('--currency <code>', 'ISO 4217 currency', 'EUR')
    .option('--floor <minor>', 'lowest balance allowed, ≤ 0 (a credit line)', '0')
    .option('--age-band <band>', `verified age band: ${AgeBand.options.join(', ')}`)
    .option('--membership <name...>', 'memberships used by eligibility rules')
    .action((o: { kind: string; name: string; branch?: string; id?: string; currency: string; floor: string; ageBand?: string; membership?: string[] }) => run(async (g) => {
      if (o.kind !== 'customer' && o.kind !== 'merchant') throw new CliError('TS_ERR_CLI_ARG', `--kind must be customer or merchant, got ${JSON.stringify(o.kind)}`);
      if (o.ageBand !== undefined && !AgeBand.safeParse(o.ageBand).success) throw new CliError('TS_ERR_CLI_ARG', `--age-band must be one of ${AgeBand.options.join(', ')}`);
      const attributes = { ...(o.ageBand ? { ageBand: o.ageBand as AgeBand } : {}), ...(o.membership ? { memberships: o.membership } : {}) };
      const account = await withCore(g, (core) => core.openAccount({
        kind: o.kind as 'customer' | 'merchant', name: o.name, currency: o.currency, attributes,
        floor: parseIntArg('--floor', o.floor, -1e15, 0),
        ...(o.id !== undefined ? { id: accountArg(o.id) } : {}),
        ...(o.branch !== undefined ? { branch: parseIntArg('--branch', o.branch, 1, 999) } : {}),
      }));
      print(g.json ?? false, account, () => `opened ${account.id} (${account.kind}, ${account.currency}) for ${account.name}`);
    }));

  ledger.command('fund')
    .description('move money in from the currency\'s external funding account (idempotent on --reference)')
    .argument('<account>', 'account id BBB-NNNNNNN')
    .argument('<amount>', 'amount in minor units (cents), a positive integer')
    .option('--reference <ref>', 'idempotency key: a retry with the same reference funds once (default: a new one, printed)')
    .action((account: string, amount: string, o: { reference?: string }) => run(async (g) => {
      const reference = o.reference ?? `fund-${uuidv7()}`;
      const transfer = await withCore(g, (core) => core.fund({ account: accountArg(account), amount: parseIntArg('amount', amount, 1, 1e15), reference }));
      print(g.json ?? false, transfer, () => `funded ${transfer.to} with ${formatMoney(transfer.amount, transfer.currency)}; balance ${formatMoney(transfer.toBalanceAfter, transfer.currency)} (reference ${reference})`);
    }));

  ledger.command('accounts')
    .description('list accounts')
    .option('--kind <kind>', 'only this kind')
    .option('--limit <n>', 'at most this many', '100')
    .option('--after <account>', 'page: accounts after this id')
    .action((o: { kind?: string; limit: string; after?: string }) => run(async (g) => {
      const accounts = await withStore(g, (s) => s.listAccounts({ limit: parseIntArg('--limit', o.limit, 1, 10_000), ...(o.kind ? { kind: o.kind as 'customer' } : {}), ...(o.after ? { afterId: o.after } : {}) }));
      print(g.json ?? false, accounts, () => table(accounts.map((a) => ({ account: a.id, kind: a.kind, name: a.name, balance: money(a.balance, a.currency), floor: a.floor, status: a.status }))));
    }));

  ledger.command('statement')
    .description('an account\'s history, newest first, with the balance after each line')
    .argument('<account>', 'account id BBB-NNNNNNN')
    .option('--from <time>', 'from this time (ISO 8601 or epoch ms)')
    .option('--to <time>', 'before this time')
    .option('--limit <n>', 'lines per page', '50')
    .option('--before <transferId>', 'page: lines older than this transfer id')
    .action((account: string, o: { from?: string; to?: string; limit: string; before?: string }) => run(async (g) => {
      const id = accountArg(account);
      const lines = await withStore(g, async (s) => {
        if (!(await s.getAccount(id))) throw new CliError('TS_ERR_UNKNOWN_ACCOUNT', `no account ${id}`, exitCodes.failed);
        return s.statement(id, {
          limit: parseIntArg('--limit', o.limit, 1, 1000),
          ...(o.from ? { fromMs: parseTimeArg('--from', o.from) } : {}),
          ...(o.to ? { toMs: parseTimeArg('--to', o.to) } : {}),
          ...(o.before ? { beforeTransferId: parseIntArg('--before', o.before, 1, Number.MAX_SAFE_INTEGER) } : {}),
        });
      });
      print(g.json ?? false, lines, () => table(lines.map((l) => ({ id: l.transferId, time: iso(l.at), kind: l.kind, amount: money(l.amount, l.currency), balance: money(l.balanceAfter, l.currency), counterparty: l.counterparty, request: l.journalRequestId ?? '' }))));
    }));

  ledger.command('journal')
    .description('journal entries in arrival order, optionally in one state')
    .option('--state <state>', `one of ${journalStates.join(', ')}`)
    .option('--limit <n>', 'at most this many', '50')
    .option('--after <seq>', 'page: entries after this sequence number')
    .option('--counts', 'only count entries per state')
    .action((o: { state?: string; limit: string; after?: string; counts?: boolean }) => run(async (g) => {
      if (o.state !== undefined && !(journalStates as readonly string[]).includes(o.state)) throw new CliError('TS_ERR_CLI_ARG', `--state must be one of ${journalStates.join(', ')}`);
      if (o.counts) {
        const counts = await withStore(g, (s) => s.countJournalByState());
        print(g.json ?? false, counts, () => table(Object.entries(counts).map(([state, n]) => ({ state, entries: n }))));
        return;
      }
      const entries = await withStore(g, (s) => s.listJournal({
        limit: parseIntArg('--limit', o.limit, 1, 10_000),
        ...(o.state ? { state: o.state as JournalState } : {}),
        ...(o.after ? { afterSeq: parseIntArg('--after', o.after, 0, Number.MAX_SAFE_INTEGER) } : {}),
      }));
      print(g.json ?? false, entries.map(({ requestJson: _r, resultJson: _s, ...e }) => e), () => table(entries.map((e) => ({
        seq: e.seq, received: iso(e.receivedAt), device: e.deviceId, request: e.requestId, state: e.state, reason: e.reason ?? '',
        amount: money(e.amount, e.currency), payer: e.payer ?? '', merchant: e.merchant ?? '', due: iso(e.dueAt),
      }))));
    }));

  ledger.command('audit')
    .description('recompute every balance from the transfers and check every invariant; exit 1 if any fails')
    .action(() => run(async (g) => {
      const report = await withStore(g, (s) => audit(s));
      print(g.json ?? false, report, () => [
        table(report.checks.map((c) => ({ check: c.name, result: c.ok ? 'ok' : 'FAILED', problems: c.problems.join('; ') }))),
        `${report.accounts} accounts, ${report.transfers} transfers, ${report.journalEntries} journal entries; totals ${JSON.stringify(report.totals)}`,
        report.ok ? 'audit passed' : 'AUDIT FAILED',
      ].join('\n'));
      return report.ok ? exitCodes.ok : exitCodes.failed;
    }));

  ledger.command('register-device')
    .description('register (or update) a device and the merchant it sells for')
    .argument('<device>', 'device id')
    .requiredOption('--kind <kind>', DeviceKind.options.join(', '))
    .requiredOption('--merchant <account>', 'merchant account id')
    .option('--revoked', 'register it revoked (it can no longer settle)')
    .action((device: string, o: { kind: string; merchant: string; revoked?: boolean }) => run(async (g) => {
      const d = await withCore(g, (core) => core.registerDevice({ id: device, kind: o.kind as 'pos', merchant: accountArg(o.merchant), status: o.revoked ? 'revoked' : 'active' }));
      print(g.json ?? false, d, () => `device ${d.id} (${d.kind}) sells for ${d.merchant}, ${d.status}`);
    }));

  ledger.command('enroll')
    .description('enroll a phone wallet for a customer account; prints the wallet key ONCE')
    .argument('<account>', 'customer account id')
    .action((account: string) => run(async (g) => {
      const { wallet, walletKey } = await withCore(g, (core) => core.enrollWallet(accountArg(account)));
      const out = { walletId: wallet.id, account: wallet.account, walletKey: walletKey.toString('base64') };
      print(g.json ?? false, out, () => `wallet ${out.walletId} for ${out.account}\nwallet key (provision it on the phone now; it is not shown again): ${out.walletKey}`);
    }));

  ledger.command('cancel')
    .description('cancel a cooling-off purchase before its period ends (refund to the payer)')
    .argument('<device>', 'device id of the purchase')
    .argument('<requestId>', 'request id of the purchase')
    .action((device: string, requestId: string) => run(async (g) => {
      if (!UuidV7.safeParse(requestId).success) throw new CliError('TS_ERR_CLI_ARG', 'requestId must be a UUIDv7');
      const r = await withCore(g, (core) => core.cancel({ deviceId: device, requestId }));
      print(g.json ?? false, r, () => r.status);
    }));
}
