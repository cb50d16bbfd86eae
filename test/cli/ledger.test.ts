/** The `tapsettle ledger` command, run as a user runs it: a child process, its output and its exit code. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../settlement-core/fixtures.ts';

const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
let t: ReturnType<typeof tempDir>;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '--data', t.dir, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const json = async (...args: string[]) => {
  const r = await cli('--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};

beforeAll(() => {
  t = tempDir('tapsettle-cli-');
});
afterAll(() => t.cleanup());

/** Each call starts a Node process (~0.6 s, several seconds on a loaded 2-core machine): generous per-test time. */
const slow = { timeout: 180_000 };

describe('tapsettle ledger', () => {
  it('initialises, opens, funds idempotently, shows the statement and passes the audit', slow, async () => {
    expect(await json('ledger', 'init', '--currency', 'EUR')).toMatchObject({ createdKeys: true });
    expect(await json('ledger', 'init', '--currency', 'EUR')).toMatchObject({ createdKeys: false, created: [] });
    const shop = (await json('ledger', 'open', '--kind', 'merchant', '--name', 'Shop', '--branch', '500')) as { id: string };
    expect(shop.id).toBe('500-0000001');
    const ann = (await json('ledger', 'open', '--kind', 'customer', '--name', 'Ann', '--branch', '100', '--age-band', '21-plus', '--membership', 'gym')) as { id: string; attributes: unknown };
    expect(ann.attributes).toEqual({ ageBand: '21-plus', memberships: ['gym'] });
    await json('ledger', 'fund', ann.id, '5000', '--reference', 'r-1');
    await json('ledger', 'fund', ann.id, '5000', '--reference', 'r-1');
    const lines = (await json('ledger', 'statement', ann.id)) as { amount: number; balanceAfter: number }[];
    expect(lines).toEqual([expect.objectContaining({ amount: 5000, balanceAfter: 5000, kind: 'fund' })]);
    await json('ledger', 'register-device', 'vm-1', '--kind', 'vending', '--merchant', shop.id);
    const wallet = (await json('ledger', 'enroll', ann.id)) as { walletId: string; walletKey: string };
    expect(Buffer.from(wallet.walletKey, 'base64')).toHaveLength(32);
    expect(await json('ledger', 'audit')).toMatchObject({ ok: true, accounts: 7, transfers: 1 });
    const human = await cli('ledger', 'accounts');
    expect(human.stdout).toContain('50.00 EUR');
    expect(await json('ledger', 'journal', '--counts')).toEqual({});
  });

  it('refuses bad input with a coded error and a usage exit code', slow, async () => {
    const cases: [string[], number, string][] = [
      [['ledger', 'fund', '100-0000001', '12.5'], 2, 'TS_ERR_CLI_ARG'],
      [['ledger', 'fund', '100-0000001', '0'], 2, 'TS_ERR_CLI_ARG'],
      [['ledger', 'fund', '1-2', '5'], 2, 'TS_ERR_CLI_ARG'],
      [['ledger', 'fund', '999-0000001', '5'], 1, 'TS_ERR_UNKNOWN_ACCOUNT'],
      [['ledger', 'open', '--kind', 'bank', '--name', 'x'], 2, 'TS_ERR_CLI_ARG'],
      [['ledger', 'open', '--kind', 'customer', '--name', 'x', '--currency', 'XYZ'], 1, 'TS_ERR_CURRENCY'],
      [['ledger', 'journal', '--state', 'lost'], 2, 'TS_ERR_CLI_ARG'],
      [['ledger', 'statement', '100-0000001', '--from', 'yesterday'], 2, 'TS_ERR_CLI_ARG'],
    ];
    for (const [args, code, errorCode] of cases) {
      const r = await cli('--json', ...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(JSON.parse(r.stderr), args.join(' ')).toMatchObject({ error: { code: errorCode } });
    }
    expect((await cli('ledger', 'frobnicate')).code).toBe(2);
    const help = await cli('ledger', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('statement');
  });

  it('says what to do when there is no key file', slow, async () => {
    const other = tempDir('tapsettle-cli-empty-');
    try {
      const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, [bin, '--data', other.dir, 'ledger', 'enroll', '100-0000001'], (err, _o, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr }));
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('tapsettle ledger init');
    } finally {
      other.cleanup();
    }
  });
});
