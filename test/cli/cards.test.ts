/** `tapsettle cards list|reverse` as an operator runs them: a child process against a running gateway's admin HTTP (cards: and an admin token configured). */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardAuthorizationResult } from '../../gateway/cards/index.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/gateway.ts';
import type { RunningGateway } from '../../gateway/gateway.ts';
import { uuidv7 } from '../../protocol/index.ts';
import type { IssuerHost } from '../../settlement-core/cards/index.ts';
import { balanceOf, tempDir } from '../settlement-core/fixtures.ts';
import type { TestWallet } from '../settlement-core/fixtures.ts';
import { call, signed } from '../gateway/http/harness.ts';
import { cardData, cards, startTestIssuer } from '../settlement-core/cards/fixtures.ts';

/** Each run starts node with the TypeScript loader: ~2–3 s on the reference machine, more under load. */
const slowMs = 120_000;
const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
const adminToken = 'cli-admin-token-0123456789abcdef';
let t: ReturnType<typeof tempDir>;
let issuer: IssuerHost;
let gw: RunningGateway;
let wallet: TestWallet;
let tokenFile: string;
let saleId: string;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '--data', t.dir, ...args], { timeout: 30_000, env: { ...process.env, TAPSETTLE_ADMIN_TOKEN: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const at = (): string[] => ['--url', gw.urls.http, '--token-file', tokenFile];

beforeAll(async () => {
  t = tempDir('tapsettle-cli-cards-');
  const started = await startTestIssuer(t.dir);
  issuer = started.issuer;
  const { secretsFile } = started;
  const keys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) };
  gw = await startGateway(parseGatewayConfig({ data: join(t.dir, 'gw'), mqtt: { port: 0 }, http: { port: 0, adminToken }, log: { level: 'silent' }, cards: { issuerUrl: issuer.url, secretsFile } }), keys);
  const ada = gw.demo!.wallets[0]!;
  wallet = { walletId: ada.walletId, walletKey: Buffer.from(ada.walletKey, 'base64'), account: ada.account, counter: 0 };
  tokenFile = join(t.dir, 'admin-token');
  writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
  saleId = uuidv7();
  const body = JSON.stringify({ authorizationId: saleId, card: cardData(cards.good), amount: { minor: 990, currency: 'EUR' }, merchant: gw.demo!.merchant, mcc: '5814' });
  const r = await call(signed(gw.urls.http, wallet, 'POST', `/v1/wallets/${wallet.walletId}/card-authorizations`, { body }));
  expect(CardAuthorizationResult.parse(r.body).responseCode).toBe('00');
}, slowMs);
afterAll(async () => {
  await gw.close();
  await issuer.close();
  t.cleanup();
});

describe('tapsettle cards', () => {
  it('list prints the sale masked, as a table and as JSON; never the card number', async () => {
    const human = await cli(['cards', 'list', ...at()]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/authorization\s+requested\s+who\s+card/);
    expect(human.stdout).toContain(saleId);
    expect(human.stdout).toContain('•••• •••• •••• 4242');
    expect(human.stdout).toContain(`wallet ${wallet.walletId}`);
    const json = await cli(['cards', 'list', '--limit', '5', '--json', ...at()]);
    expect(json.code, json.stderr).toBe(0);
    const page = JSON.parse(json.stdout) as { authorizations: { authorizationId: string; responseCode: string; capture: unknown; reversal: unknown }[]; next: string | null };
    expect(page.authorizations[0]).toMatchObject({ authorizationId: saleId, responseCode: '00', capture: { status: 'captured' }, reversal: null });
    for (const out of [human.stdout, json.stdout]) expect(out).not.toContain(cards.good.slice(0, 12));
  }, slowMs);

  it('reverse undoes the sale (the merchant pays it back) and says so again on a repeat; the token may come from the environment', async () => {
    const merchant = gw.demo!.merchant;
    const before = await balanceOf(gw.core, merchant);
    const first = await cli(['--json', 'cards', 'reverse', saleId, '--url', gw.urls.http], { TAPSETTLE_ADMIN_TOKEN: adminToken });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ authorizationId: saleId, reason: 'operator', amount: { minor: 990, currency: 'EUR' } });
    const again = await cli(['cards', 'reverse', saleId, ...at()]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`reversal of ${saleId}: reversed \\(operator\\)`));
    expect(await balanceOf(gw.core, merchant)).toBe(before - 990);
    const listed = await cli(['cards', 'list', ...at()]);
    expect(listed.stdout).toMatch(/done operator \(operator; ledger reversed, issuer reversed\)/);
  }, slowMs);

  it('HTTP errors print the gateway\'s code and exit 1', async () => {
    const unknown = await cli(['cards', 'reverse', uuidv7(), ...at()]);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('[TS_ERR_CARD_UNKNOWN_AUTHORIZATION]') as unknown]);
    const wrongFile = join(t.dir, 'wrong-token');
    writeFileSync(wrongFile, 'not-the-admin-token-at-all');
    const wrong = await cli(['--json', 'cards', 'list', '--url', gw.urls.http, '--token-file', wrongFile]);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stderr)).toMatchObject({ error: { code: 'TS_ERR_ADMIN_TOKEN' } });
    const down = await cli(['cards', 'list', '--url', 'http://127.0.0.1:1', '--token-file', tokenFile]);
    expect([down.code, down.stderr]).toEqual([1, expect.stringContaining('[TS_ERR_CLI_HTTP]') as unknown]);
  }, slowMs);

  it('bad flags are TS_ERR_CLI_ARG, exit 2, and nothing is sent', async () => {
    for (const args of [
      ['cards', 'list', '--limit', '0', ...at()],
      ['cards', 'list', '--limit', '501', ...at()],
      ['cards', 'list', '--limit', 'many', ...at()],
      ['cards', 'list', '--before', 'x', ...at()],
      ['cards', 'list', '--url', 'ftp://127.0.0.1', '--token-file', tokenFile],
      ['cards', 'list', '--url', gw.urls.http],
      ['cards', 'reverse', 'not-an-id', ...at()],
    ]) {
      const r = await cli(args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringContaining('[TS_ERR_CLI_ARG]') as unknown]);
    }
    for (const args of [['cards', 'list', '--bogus'], ['cards', 'reverse'], ['cards', 'list', '--token-file', join(t.dir, 'missing')]]) {
      expect((await cli(args)).code, args.join(' ')).toBe(2);
    }
  }, slowMs);
});
