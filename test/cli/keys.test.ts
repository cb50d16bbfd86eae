/** The key file: created with the ticket issuer key; a version 1 file is upgraded in place once, atomically, owner-only. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signEd25519, uuidv7, verifyEd25519 } from '../../protocol/index.ts';
import { ensureKeys, loadKeys, rotateTicketIssuer } from '../../cli/keys.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { retiredIssuerKeysMax } from '../../settlement-core/emoney/index.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

let t: ReturnType<typeof tempDir>;
let path: string;
beforeEach(() => {
  t = tempDir('tapsettle-keys-');
  path = join(t.dir, 'keys.json');
});
afterEach(() => t.cleanup());

const v1 = { version: 1, issuerMasterKey: Buffer.alloc(32, 1).toString('base64'), deviceMasterKey: Buffer.alloc(32, 2).toString('base64'), createdAt: '2026-01-01T00:00:00.000Z' };
const mode = (p: string): number => statSync(p).mode & 0o777;

describe('ensureKeys and loadKeys', () => {
  it('creates a version 2 file with a working Ed25519 issuer key, owner-only, and never overwrites it', () => {
    expect(ensureKeys(path)).toBe(true);
    expect(mode(path)).toBe(0o600);
    const before = readFileSync(path, 'utf8');
    expect(JSON.parse(before)).toMatchObject({ version: 2, ticketIssuer: { keyId: expect.stringMatching(/^issuer-/) as unknown } });
    expect(ensureKeys(path)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe(before);
    const keys = loadKeys(path);
    expect(keys.issuerMasterKey).toHaveLength(32);
    const msg = Buffer.from('ticket');
    expect(verifyEd25519(keys.ticketIssuer.publicKey, msg, signEd25519(keys.ticketIssuer, msg))).toBe(true);
    expect(readdirSync(t.dir)).toEqual(['keys.json']);
  });

  it('upgrades a version 1 file on load, keeping both master keys, and then loads the same issuer key every time', () => {
    writeFileSync(path, JSON.stringify(v1), { mode: 0o600 });
    const first = loadKeys(path);
    expect(first.issuerMasterKey.equals(Buffer.alloc(32, 1))).toBe(true);
    expect(first.deviceMasterKey.equals(Buffer.alloc(32, 2))).toBe(true);
    const onDisk = JSON.parse(readFileSync(path, 'utf8')) as { version: number; createdAt: string; ticketIssuer: unknown };
    expect(onDisk).toMatchObject({ version: 2, createdAt: v1.createdAt, ticketIssuer: first.ticketIssuer });
    expect(mode(path)).toBe(0o600);
    expect(loadKeys(path).ticketIssuer).toEqual(first.ticketIssuer);
    expect(readdirSync(t.dir)).toEqual(['keys.json']);
  });

  it('gives every process upgrading a version 1 file at once the one key that ends up on disk', async () => {
    writeFileSync(path, JSON.stringify(v1), { mode: 0o600 });
    const script = `import { loadKeys } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'cli', 'keys.ts'))}; process.stdout.write(loadKeys(${JSON.stringify(path)}).ticketIssuer.publicKey);`;
    const run = () => new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
    });
    const seen = await Promise.all([run(), run(), run()]);
    const onDisk = (JSON.parse(readFileSync(path, 'utf8')) as { ticketIssuer: { publicKey: string } }).ticketIssuer.publicKey;
    expect(seen).toEqual([onDisk, onDisk, onDisk]);
    expect(existsSync(`${path}.lock`)).toBe(false);
  }, 120_000);

  it('names what is wrong with a bad key file', () => {
    writeFileSync(path, '{');
    expect(() => loadKeys(path)).toThrow(/not JSON/);
    writeFileSync(path, JSON.stringify({ ...v1, version: 2 }));
    expect(() => loadKeys(path)).toThrow(/ticketIssuer/);
    writeFileSync(path, JSON.stringify({ ...v1, version: 2, ticketIssuer: { keyId: 'k', publicKey: 'short', privateKey: 'short' } }));
    expect(() => loadKeys(path)).toThrow(/ticketIssuer\.publicKey/);
    expect(() => loadKeys(join(t.dir, 'none.json'))).toThrow(/no key file/);
  });
});

describe('rotating the ticket and e-money issuer key', () => {
  const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
  const cli = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, '--keys', path, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });

  it('keeps the master keys, makes a new signing key and keeps the old public half as retired, newest first, owner-only', () => {
    ensureKeys(path);
    const first = loadKeys(path);
    const one = rotateTicketIssuer(path, new Date('2026-11-24T10:00:00Z'));
    const two = rotateTicketIssuer(path, new Date('2026-11-25T10:00:00Z'));
    const now = loadKeys(path);
    expect(now.issuerMasterKey.equals(first.issuerMasterKey)).toBe(true);
    expect(now.deviceMasterKey.equals(first.deviceMasterKey)).toBe(true);
    expect(now.ticketIssuer.keyId).toBe(two.keyId);
    expect(new Set([first.ticketIssuer.keyId, one.keyId, two.keyId]).size).toBe(3);
    expect(now.retiredTicketIssuers).toEqual([{ keyId: one.keyId, publicKey: expect.any(String) as unknown }, { keyId: first.ticketIssuer.keyId, publicKey: first.ticketIssuer.publicKey }]);
    expect(two.retired).toEqual([one.keyId, first.ticketIssuer.keyId]);
    const msg = Buffer.from('token');
    expect(verifyEd25519(now.ticketIssuer.publicKey, msg, signEd25519(now.ticketIssuer, msg))).toBe(true);
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(t.dir)).toEqual(['keys.json']);
  });

  it('upgrades a version 1 file first; refuses, changing nothing, past the retired limit; no file is TS_ERR_CLI_KEYS', () => {
    writeFileSync(path, JSON.stringify(v1), { mode: 0o600 });
    rotateTicketIssuer(path);
    expect(loadKeys(path).retiredTicketIssuers).toHaveLength(1);
    for (let i = 1; i < retiredIssuerKeysMax; i += 1) rotateTicketIssuer(path);
    const full = readFileSync(path, 'utf8');
    expect(() => rotateTicketIssuer(path)).toThrow(/retired already/);
    expect(readFileSync(path, 'utf8')).toBe(full);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(() => rotateTicketIssuer(join(t.dir, 'none.json'))).toThrow(/no key file/);
  });

  it('tapsettle keys rotate-issuer and keys show: public halves only, the current key first', async () => {
    ensureKeys(path);
    const before = loadKeys(path).ticketIssuer;
    const rotated = await cli('--json', 'keys', 'rotate-issuer');
    expect(rotated.code).toBe(0);
    const { keyId, retired } = JSON.parse(rotated.stdout) as { keyId: string; retired: string[] };
    expect(retired).toEqual([before.keyId]);
    const shown = await cli('--json', 'keys', 'show');
    expect(shown.code).toBe(0);
    const body = JSON.parse(shown.stdout) as { issuer: { keyId: string; publicKey: string; use: string }[] };
    expect(body.issuer.map((k) => k.keyId)).toEqual([keyId, before.keyId]);
    expect(body.issuer[1]!.publicKey).toBe(before.publicKey);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { issuerMasterKey: string; deviceMasterKey: string; ticketIssuer: { privateKey: string } };
    for (const secret of [file.issuerMasterKey, file.deviceMasterKey, file.ticketIssuer.privateKey, before.privateKey]) expect(shown.stdout).not.toContain(secret);
    expect((await cli('keys', 'rotate-issuer', '--nonsense')).code).toBe(2);
  }, 120_000);

  it('a gateway started on the rotated keys deposits a token of the retired key and gives devices both public keys', async () => {
    ensureKeys(path);
    const oldKeys = loadKeys(path);
    let gw = await startGateway(parseGatewayConfig({ data: t.dir, mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } }), oldKeys);
    try {
      const demo = gw.demo!;
      const wallet = (await gw.core.store.getWallet(demo.wallets[0]!.walletId))!;
      const issued = await gw.core.issueEmoney(wallet, { requestId: uuidv7(), amount: { minor: 100, currency: 'EUR' }, recipient: wallet.id });
      if (issued.kind !== 'answer' || issued.answer.status !== 'issued') throw new Error('not issued');
      const token = issued.answer.tokens[0]!;
      expect(token.keyId).toBe(oldKeys.ticketIssuer.keyId);
      await gw.close();
      rotateTicketIssuer(path);
      const newKeys = loadKeys(path);
      gw = await startGateway(parseGatewayConfig({ data: t.dir, mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } }), newKeys);
      expect(gw.issuerPublicKeys.map((k) => k.keyId)).toEqual([newKeys.ticketIssuer.keyId, oldKeys.ticketIssuer.keyId]);
      const deposited = await gw.core.depositEmoney(wallet, { requestId: uuidv7(), tokens: [token] });
      expect(deposited.kind === 'answer' && deposited.answer).toMatchObject({ status: 'deposited', amount: { minor: 100, currency: 'EUR' } });
      expect((await gw.core.audit()).ok).toBe(true);
    } finally {
      await gw.close();
    }
  }, 60_000);
});
