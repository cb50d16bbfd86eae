/** The key file: created with the ticket issuer key; a version 1 file is upgraded in place once, atomically, owner-only. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signEd25519, verifyEd25519 } from '../../protocol/index.ts';
import { ensureKeys, loadKeys } from '../../cli/keys.ts';
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
