/**
 * The key file of an installation: the issuer master key (wallet keys derive
 * from it), the device master key (device result-tag keys derive from it)
 * and the ticket issuer's Ed25519 signing key (claims 15–16: the core signs
 * tickets with it; devices get its public half in their config). Created
 * once, at `ledger init` or the first `start`, readable by its owner only.
 *
 * Version 1 files (before tickets) have no issuer key. `loadKeys` upgrades
 * such a file in place: it generates the key, and under an exclusive lock
 * file re-reads the key file and, if it is still version 1, replaces it
 * atomically (write a temporary file, fsync, rename, fsync the directory).
 * A second process upgrading at the same moment waits for the lock and then
 * reads the key the first one wrote, so every process signs with the key on
 * disk.
 *
 * `rotateTicketIssuer` (`tapsettle keys rotate-issuer`) replaces the ticket
 * issuer key under the same lock, atomically, and keeps the old key's public
 * half in `retiredTicketIssuers` (newest first, at most
 * retiredIssuerKeysMax): tickets and e-money tokens it signed stay valid.
 * Running processes keep the key they loaded until they are restarted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { generateSigningKeyPair } from '../protocol/index.ts';
import type { SigningKeyPair } from '../protocol/index.ts';
import { retiredIssuerKeysMax } from '../settlement-core/emoney/index.ts';
import type { IssuerPublicKey } from '../settlement-core/emoney/index.ts';
import { CliError } from './output.ts';

const Base64Key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected 32 bytes in base64');
const RawEd25519 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected 32 bytes in base64url');

const KeyFileV1 = z.strictObject({
  version: z.literal(1),
  issuerMasterKey: Base64Key,
  deviceMasterKey: Base64Key,
  createdAt: z.string().max(40),
});

const KeyFileV2 = KeyFileV1.extend({
  version: z.literal(2),
  /** Ed25519, raw 32-byte halves in base64url: what protocol's SigningKeyPair holds. */
  ticketIssuer: z.strictObject({ keyId: z.string().min(1).max(64), publicKey: RawEd25519, privateKey: RawEd25519 }),
  /** Issuer keys rotated out, newest first: their public halves only (verification). */
  retiredTicketIssuers: z.array(z.strictObject({ keyId: z.string().min(1).max(64), publicKey: RawEd25519, retiredAt: z.string().max(40) })).max(retiredIssuerKeysMax).optional(),
});

const KeyFile = z.discriminatedUnion('version', [KeyFileV1, KeyFileV2]);
type KeyFileV2 = z.infer<typeof KeyFileV2>;

export interface Keys {
  issuerMasterKey: Buffer;
  deviceMasterKey: Buffer;
  /** The ticket issuer's signing key (claims 15–16). */
  ticketIssuer: SigningKeyPair;
  /** Issuer keys rotated out, newest first: still accepted on tickets and e-money tokens they signed. */
  retiredTicketIssuers: IssuerPublicKey[];
}

/** How long a process waits for another one's upgrade of a version 1 file (it takes milliseconds; a lock older than this is stale). */
export const keyUpgradeWaitMs = 5000;
const keyUpgradePollMs = 25;

/** A key id devices look the public key up by: stable for the key, different for the next one. */
function issuerKeyId(publicKey: string): string {
  return `issuer-${createHash('sha256').update(publicKey).digest('base64url').slice(0, 12)}`;
}

function newTicketIssuer(): SigningKeyPair {
  const draft = generateSigningKeyPair('pending');
  return { ...draft, keyId: issuerKeyId(draft.publicKey) };
}

function readKeyFile(path: string): z.infer<typeof KeyFile> {
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
  return parsed.data;
}

/**
 * Writes `body` next to `path` and fsyncs it, then puts it at `path` and
 * fsyncs the directory: the file is the old one or the new one, never half.
 * `replace`: rename over an existing file; otherwise link, which fails if
 * `path` exists (two first runs at once: one file wins). Returns whether it wrote.
 */
function writeAtomically(path: string, body: object, replace: boolean): boolean {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  if (replace) {
    renameSync(tmp, path);
  } else {
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return false;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return true;
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Runs `change` on the file as it is on disk, under the exclusive `${path}.lock`.
 * While another process holds the lock, `settled` may answer from what is on disk
 * (an upgrade someone else finished); otherwise it waits, at most keyUpgradeWaitMs.
 */
function underLock<T>(path: string, change: (current: z.infer<typeof KeyFile>) => T, settled: (current: z.infer<typeof KeyFile>) => T | null): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + keyUpgradeWaitMs;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const done = settled(readKeyFile(path));
      if (done !== null) return done;
      if (Date.now() > deadline) throw new CliError('TS_ERR_CLI_KEYS', `key file ${path} is being changed by another process, or ${lock} is left over from a crash: remove it if no tapsettle process is running`, 1);
      sleepSync(keyUpgradePollMs);
      continue;
    }
    try {
      return change(readKeyFile(path));
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }
}

const upgraded = (current: z.infer<typeof KeyFile>): KeyFileV2 => (current.version === 2 ? current : { ...current, version: 2, ticketIssuer: newTicketIssuer() });

/** Upgrades a version 1 file to version 2 under the lock; returns the file as it is on disk afterwards. */
function upgrade(path: string): KeyFileV2 {
  return underLock(path, (current) => {
    if (current.version === 2) return current;
    const next = upgraded(current);
    writeAtomically(path, next, true);
    return next;
  }, (current) => (current.version === 2 ? current : null));
}

/**
 * Replaces the ticket issuer key with a new one and keeps the old public half
 * as retired (newest first). Refused, with nothing changed, when
 * retiredIssuerKeysMax keys are retired already. Returns the new key id and
 * the retired ids.
 */
export function rotateTicketIssuer(path: string, now: Date = new Date()): { keyId: string; retired: string[] } {
  if (!existsSync(path)) throw new CliError('TS_ERR_CLI_KEYS', `no key file at ${path}; run \`tapsettle ledger init\` first or pass --keys`, 1);
  return underLock(path, (current) => {
    const file = upgraded(current);
    const retired = file.retiredTicketIssuers ?? [];
    if (retired.length >= retiredIssuerKeysMax) {
      throw new CliError('TS_ERR_CLI_KEYS', `${retired.length} issuer keys are retired already (at most ${retiredIssuerKeysMax}); tickets and tokens of the oldest must have expired or been deposited before it is dropped from ${path}`, 1);
    }
    const old = file.ticketIssuer;
    const next: KeyFileV2 = {
      ...file,
      ticketIssuer: newTicketIssuer(),
      retiredTicketIssuers: [{ keyId: old.keyId, publicKey: old.publicKey, retiredAt: now.toISOString() }, ...retired],
    };
    writeAtomically(path, next, true);
    return { keyId: next.ticketIssuer.keyId, retired: next.retiredTicketIssuers!.map((k) => k.keyId) };
  }, () => null);
}

export function loadKeys(path: string): Keys {
  if (!existsSync(path)) throw new CliError('TS_ERR_CLI_KEYS', `no key file at ${path}; run \`tapsettle ledger init\` first or pass --keys`, 1);
  const read = readKeyFile(path);
  const file = read.version === 2 ? read : upgrade(path);
  return {
    issuerMasterKey: Buffer.from(file.issuerMasterKey, 'base64'),
    deviceMasterKey: Buffer.from(file.deviceMasterKey, 'base64'),
    ticketIssuer: { ...file.ticketIssuer },
    retiredTicketIssuers: (file.retiredTicketIssuers ?? []).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })),
  };
}

/** Creates the key file if there is none; never overwrites one. Returns whether it created it. */
export function ensureKeys(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  const body: KeyFileV2 = {
    version: 2,
    issuerMasterKey: randomBytes(32).toString('base64'),
    deviceMasterKey: randomBytes(32).toString('base64'),
    createdAt: new Date().toISOString(),
    ticketIssuer: newTicketIssuer(),
  };
  return writeAtomically(path, body, false);
}
