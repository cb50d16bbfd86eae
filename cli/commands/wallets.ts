/** `tapsettle wallets …`: enrollment codes a phone redeems at `POST /v1/enrollments`. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { AccountId } from '../../protocol/index.ts';
import { EnrollmentCodes, enrollmentDbPath, enrollmentTtlMsDefault, enrollmentTtlMsMax, enrollmentTtlMsMin } from '../../gateway/http/enrollment-codes.ts';
import { dbPath, withStore } from '../context.ts';
import type { GlobalOptions } from '../context.ts';
import { CliError, exitCodes, parseIntArg, print } from '../output.ts';

type Run = (action: (globals: GlobalOptions) => Promise<number | void>) => Promise<void>;

const minuteMs = 60_000;

export function walletsCommands(program: Command, run: Run): void {
  const wallets = program.command('wallets').description('phone wallets: enrollment codes');

  wallets.command('code')
    .description('issue a single-use enrollment code for a customer account (printed once; the phone redeems it at POST /v1/enrollments)')
    .argument('<account>', 'customer account id BBB-NNNNNNN')
    .option('--ttl-min <n>', `minutes the code stays valid, ${enrollmentTtlMsMin / minuteMs}..${enrollmentTtlMsMax / minuteMs}`, String(enrollmentTtlMsDefault / minuteMs))
    .option('--codes-db <path>', 'enrollment code database (default <data>/enrollment.db)')
    .action((account: string, o: { ttlMin: string; codesDb?: string }) => run(async (g) => {
      if (!AccountId.safeParse(account).success) throw new CliError('TS_ERR_CLI_ARG', `account must be BBB-NNNNNNN (branch, account number), got ${JSON.stringify(account)}`);
      const ttlMs = parseIntArg('--ttl-min', o.ttlMin, enrollmentTtlMsMin / minuteMs, enrollmentTtlMsMax / minuteMs) * minuteMs;
      if (!existsSync(dbPath(g))) throw new CliError('TS_ERR_CLI_NO_LEDGER', `no ledger at ${dbPath(g)}; run \`tapsettle ledger init\` first or pass --data/--db`, exitCodes.failed);
      const holder = await withStore(g, (s) => s.getAccount(account));
      if (holder === null || holder.kind !== 'customer') throw new CliError('TS_ERR_UNKNOWN_ACCOUNT', `${account} is not a customer account`, exitCodes.failed);
      if (holder.status !== 'active') throw new CliError('TS_ERR_ACCOUNT_NOT_ACTIVE', `${account} is ${holder.status}`, exitCodes.failed);
      const codes = new EnrollmentCodes({ path: o.codesDb ?? enrollmentDbPath(g.data) });
      let code: string;
      try {
        code = codes.issue(account, ttlMs);
      } finally {
        codes.close();
      }
      const out = { code, account, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
      print(g.json ?? false, out, () => `enrollment code for ${account}: ${code}\nvalid until ${out.expiresAt}, once; hand it to the customer now (it is not shown again)`);
    }));
}
