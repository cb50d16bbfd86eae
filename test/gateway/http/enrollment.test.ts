/** Enrollment with an operator's code: once, before it expires; the code is stored hashed; the CLI issues codes the API accepts. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { deriveDeviceKey } from '../../../protocol/index.ts';
import { SettlementCore, SqliteLedgerStore } from '../../../settlement-core/index.ts';
import { loadKeys } from '../../../cli/keys.ts';
import { EnrollmentCodes } from '../../../gateway/http/enrollment-codes.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';
import { ResultHub, hubSink } from '../../../gateway/http/result-hub.ts';
import { startHttp } from '../../../gateway/http/server.ts';
import { call, errorCodeOf, post, signed, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

interface Enrolled {
  walletId: string;
  walletKey: string;
  account: string;
}

describe('POST /v1/enrollments', () => {
  it('enrolls a wallet for the code\'s account once, with a key that signs requests', async () => {
    const account = h.station.wallets[0]!.account;
    const code = h.codes.issue(account, 10 * 60_000);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    const r = await post(h.base, '/v1/enrollments', JSON.stringify({ code }));
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const e = r.body as Enrolled;
    expect(e.account).toBe(account);
    expect(await h.station.core.store.getWallet(e.walletId)).toMatchObject({ account, status: 'active' });
    const wallet: TestWallet = { walletId: e.walletId, walletKey: Buffer.from(e.walletKey, 'base64'), account, counter: 0 };
    const statement = await call(signed(h.base, wallet, 'GET', `/v1/wallets/${wallet.walletId}/statement`));
    expect(statement.status).toBe(200);
    const second = await post(h.base, '/v1/enrollments', JSON.stringify({ code }));
    expect([second.status, errorCodeOf(second)]).toEqual([409, 'TS_ERR_CODE_USED']);
  });

  it('refuses an expired code and an unknown one; accepts the code typed in lower case with spaces', async () => {
    const account = h.station.wallets[1]!.account;
    const expiring = h.codes.issue(account, 60_000);
    h.clock.advance(60_000);
    const expired = await post(h.base, '/v1/enrollments', JSON.stringify({ code: expiring }));
    expect([expired.status, errorCodeOf(expired)]).toEqual([410, 'TS_ERR_CODE_EXPIRED']);
    const unknown = await post(h.base, '/v1/enrollments', JSON.stringify({ code: 'AAAA-BBBB-CCCC-DDDD' }));
    expect([unknown.status, errorCodeOf(unknown)]).toEqual([403, 'TS_ERR_CODE_UNKNOWN']);
    const typed = h.codes.issue(account, 60_000).toLowerCase().replace(/-/g, ' ');
    expect((await post(h.base, '/v1/enrollments', JSON.stringify({ code: typed }))).status).toBe(201);
  });

  it('stores only a hash of each code', () => {
    const code = h.codes.issue(h.station.wallets[0]!.account, 60_000);
    const db = new Database(join(h.dir, 'enrollment.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT * FROM enrollment_codes').all() as Record<string, unknown>[];
      expect(rows.length).toBeGreaterThan(0);
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(code.replace(/-/g, ''));
      expect(rows.every((row) => typeof row.hash === 'string' && /^[0-9a-f]{64}$/.test(row.hash))).toBe(true);
    } finally {
      db.close();
    }
  });

  it('refuses bad input to issue() with a coded error', () => {
    expect(() => h.codes.issue('1-2', 60_000)).toThrow(expect.objectContaining({ code: 'TS_ERR_INVALID_ARGUMENT' }));
    expect(() => h.codes.issue('100-0000001', 1000)).toThrow(expect.objectContaining({ code: 'TS_ERR_INVALID_ARGUMENT' }));
  });

  it('refuses a code for an account that is not a customer, using the code up', async () => {
    const code = h.codes.issue(h.station.merchant, 60_000);
    const r = await post(h.base, '/v1/enrollments', JSON.stringify({ code }));
    expect([r.status, errorCodeOf(r)]).toEqual([404, 'TS_ERR_UNKNOWN_ACCOUNT']);
    expect(errorCodeOf(await post(h.base, '/v1/enrollments', JSON.stringify({ code })))).toBe('TS_ERR_CODE_USED');
  });
});

describe('tapsettle wallets code', () => {
  const bin = join(import.meta.dirname, '..', '..', '..', 'cli', 'bin.mjs');
  const t = tempDir('tapsettle-cli-codes-');
  afterAll(() => t.cleanup());
  const cli = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, '--data', t.dir, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });

  it('issues a code (printed once, --json) that the wallet API redeems', async () => {
    expect((await cli('wallets', 'code', '100-0000001')).code).toBe(1);
    expect((await cli('ledger', 'init', '--currency', 'EUR')).code).toBe(0);
    const opened = await cli('--json', 'ledger', 'open', '--kind', 'customer', '--name', 'Ann', '--branch', '100');
    const account = (JSON.parse(opened.stdout) as { id: string }).id;
    const bad = await cli('--json', 'wallets', 'code', account, '--ttl-min', '0');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: 'TS_ERR_CLI_ARG' } });
    expect((await cli('wallets', 'code', '500-0000009')).code).toBe(1);
    const issued = await cli('--json', 'wallets', 'code', account, '--ttl-min', '30');
    expect(issued.code, issued.stderr).toBe(0);
    const out = JSON.parse(issued.stdout) as { code: string; account: string; expiresAt: string };
    expect(out.account).toBe(account);
    expect(Date.parse(out.expiresAt) - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(readFileSync(join(t.dir, 'enrollment.db')).includes(Buffer.from(out.code.replace(/-/g, '')))).toBe(false);

    const keys = loadKeys(join(t.dir, 'keys.json'));
    const core = await SettlementCore.open({ store: new SqliteLedgerStore({ path: join(t.dir, 'tapsettle.db') }), issuerMasterKey: keys.issuerMasterKey, deviceKey: (id) => deriveDeviceKey(keys.deviceMasterKey, id), scheduler: false });
    const codes = new EnrollmentCodes({ path: join(t.dir, 'enrollment.db') });
    const hub = new ResultHub();
    const server = await startHttp({ core, hub, sink: hubSink(hub, () => Promise.resolve()), codes, metrics: new GatewayMetrics({ defaultMetrics: false }), online: () => new Map(), port: 0, host: '127.0.0.1' });
    try {
      const r = await post(server.url, '/v1/enrollments', JSON.stringify({ code: out.code }));
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ account });
    } finally {
      await server.close();
      await core.close();
      codes.close();
    }
  }, 90_000);
});
