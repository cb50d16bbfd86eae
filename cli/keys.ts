/**
 * The key file of an installation: the issuer master key (wallet keys derive
 * from it) and the device master key (device result-tag keys derive from
 * it). Created once, at `ledger init`, readable by its owner only.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, fsyncSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CliError } from './output.ts';

const KeyFile = z.strictObject({
  version: z.literal(1),
  issuerMasterKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected 32 bytes in base64'),
  deviceMasterKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected 32 bytes in base64'),
  createdAt: z.string().max(40),
});

export interface Keys {
  issuerMasterKey: Buffer;
  deviceMasterKey: Buffer;
}

export function loadKeys(path: string): Keys {
  if (!existsSync(path)) throw new CliError('TS_ERR_CLI_KEYS', `no key file at ${path}; run \`tapsettle ledger init\` first or pass --keys`, 1);
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError('TS_ERR_CLI_KEYS', `key file ${path} is not JSON: ${(err as Error).message}`, 1);
  }
  const parsed = KeyFile.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError('TS_ERR_CLI_KEYS', `key file ${path}: ${issue.path.join('.') || '(file)'}: ${issue.message}`, 1);
  }
  return { issuerMasterKey: Buffer.from(parsed.data.issuerMasterKey, 'base64'), deviceMasterKey: Buffer.from(parsed.data.deviceMasterKey, 'base64') };
}

/** Creates the key file if there is none; never overwrites one. Returns whether it created it. */
export function ensureKeys(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  const body = { version: 1, issuerMasterKey: randomBytes(32).toString('base64'), deviceMasterKey: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  return true;
}
