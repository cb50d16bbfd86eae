/** `tapsettle issuer …` (cli/commands/issuer.ts), run in-process on a program built like cli/main.ts. */
import { readFileSync, statSync } from 'node:fs';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { issuerCommands } from '../../../cli/commands/issuer.ts';
import type { GlobalOptions } from '../../../cli/context.ts';
import { fail } from '../../../cli/output.ts';
import { loadIssuerSecrets } from '../../../settlement-core/cards/index.ts';
import { cards, databaseBytes, panForms, tempDir } from './fixtures.ts';

let t: { dir: string; cleanup: () => void };
let out: string;
let err: string;
beforeEach(() => {
  t = tempDir('tapsettle-issuer-cli-');
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += chunk.toString();
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  t.cleanup();
});

async function tapsettle(...args: string[]): Promise<number> {
  const program = new Command('tapsettle').option('--data <dir>').option('--db <path>').option('--json').exitOverride();
  issuerCommands(program, async (action) => {
    const g = program.opts<GlobalOptions>();
    try {
      process.exitCode = (await action(g)) ?? 0;
    } catch (e) {
      process.exitCode = fail(e, g.json ?? false);
    }
  });
  process.exitCode = undefined;
  await program.parseAsync(['node', 'tapsettle', '--data', t.dir, ...args]);
  return Number(process.exitCode ?? 0);
}

const addGood = ['issuer', 'add-card', '--pan', cards.good, '--expiry', '2712', '--cvv', '123', '--limit', '50000', '--open-to-buy', '100000'];

describe('tapsettle issuer', () => {
  it('add-card prints the masked number and the token only; cards lists them; the secrets file is private', async () => {
    expect(await tapsettle(...addGood)).toBe(0);
    expect(out).toMatch(/added card •••• •••• •••• 4242, token ct_[a-z2-7]{24}, active/);
    expect(await tapsettle('issuer', 'add-card', '--pan', cards.pin, '--expiry', '2712', '--cvv', '999', '--pin', '2468', '--pin-above', '5000', '--mcc', '5411,5814', '--limit', '9000', '--open-to-buy', '9000')).toBe(0);
    expect(await tapsettle('issuer', 'cards')).toBe(0);
    expect(out).toContain('•••• •••• •••• 4444');
    expect(out).toContain('5411,5814');
    for (const pan of [cards.good, cards.pin]) for (const form of panForms(pan)) expect(out + err).not.toContain(form);
    expect(statSync(`${t.dir}/issuer-secrets.json`).mode & 0o777).toBe(0o600);
    expect(loadIssuerSecrets(`${t.dir}/issuer-secrets.json`).pepper.byteLength).toBe(32);
    const bytes = (await databaseBytes(`${t.dir}/issuer.db`)).toString('latin1');
    expect(bytes).not.toContain(cards.good.slice(0, -4));
  });

  it('refuses a number failing Luhn or a duplicate without printing it', async () => {
    expect(await tapsettle('issuer', 'add-card', '--pan', '4242424242424241', '--expiry', '2712', '--cvv', '123', '--limit', '1', '--open-to-buy', '1')).toBe(2);
    expect(err).toContain('TS_ERR_CARD_INVALID_ARGUMENT');
    expect(err).not.toContain('424242424242');
    await tapsettle(...addGood);
    expect(await tapsettle(...addGood)).toBe(1);
    expect(err).toContain('TS_ERR_CARD_EXISTS');
    expect(err).not.toContain(cards.good.slice(0, -4));
  });

  it('set-status blocks and reactivates a card by token; --db names the issuer database', async () => {
    const db = `${t.dir}/elsewhere/issuer.db`;
    expect(await tapsettle('--db', db, '--json', ...addGood)).toBe(0);
    const { token } = JSON.parse(out) as { token: string };
    out = '';
    expect(await tapsettle('--db', db, 'issuer', 'set-status', token, 'blocked')).toBe(0);
    expect(out).toContain('is blocked');
    expect(await tapsettle('--db', db, 'issuer', 'set-status', token, 'lost')).toBe(2);
    expect(await tapsettle('--db', db, 'issuer', 'set-status', 'ct_none', 'active')).toBe(1);
    expect(readFileSync(db).byteLength).toBeGreaterThan(0);
  });

  it('start serves the issuer host until SIGTERM', async () => {
    const running = tapsettle('--json', 'issuer', 'start', '--port', '0');
    await vi.waitFor(() => expect(out).toContain('"url"'), { timeout: 5000 });
    const url = /"url": "(http:\/\/[^"]+)"/.exec(out)![1]!;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const refused = await fetch(`${url}/v1/authorizations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
    process.emit('SIGTERM');
    expect(await running).toBe(0);
  });
});
