/**
 * The issuer host's secrets file: the pepper (the key of every card hash)
 * and the acquirer token (what the card processing apparatus presents).
 * Created once, readable by its owner only, never overwritten. Keep it off
 * the disk the issuer database is backed up from: the database without the
 * pepper reveals no card.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CardError } from './errors.ts';

const SecretsFile = z.strictObject({
  version: z.literal(1),
  pepper: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected 32 bytes in base64'),
  acquirerToken: z.string().min(22).max(200).regex(/^[A-Za-z0-9_-]+$/, 'expected base64url characters'),
  createdAt: z.string().max(40),
});

export interface IssuerSecrets {
  pepper: Buffer;
  acquirerToken: string;
}

export const issuerSecretsPath = (dataDir: string): string => join(dataDir, 'issuer-secrets.json');

export function loadIssuerSecrets(path: string): IssuerSecrets {
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', `issuer secrets ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (`tapsettle issuer start` creates it)' : 'not readable JSON'}`);
  }
  const parsed = SecretsFile.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', `issuer secrets ${path}: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
  }
  return { pepper: Buffer.from(parsed.data.pepper, 'base64'), acquirerToken: parsed.data.acquirerToken };
}

/** Creates the file with fresh secrets if there is none; never replaces one. Returns whether it created it. */
export function ensureIssuerSecrets(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  const body = { version: 1, pepper: randomBytes(32).toString('base64'), acquirerToken: randomBytes(32).toString('base64url'), createdAt: new Date().toISOString() };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  return true;
}
