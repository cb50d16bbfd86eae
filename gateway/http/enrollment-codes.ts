/**
 * Operator-issued enrollment codes: a phone enrolls itself for a customer
 * account by presenting one to `POST /v1/enrollments`. Each code is single
 * use and expires. Only its SHA-256 is stored: a code carries 80 random
 * bits, so a fast hash is enough (a slow hash protects guessable secrets;
 * nobody enumerates 2^80), and whoever reads the file cannot enroll.
 *
 * Its own SQLite file (default `<data>/enrollment.db`), not the ledger: the
 * ledger holds money and history, this holds short-lived operator secrets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openDurableFile } from '../../settlement-core/store/sqlite/durable-file.ts';
import { AccountId } from '../../protocol/index.ts';
import { CoreError } from '../../settlement-core/index.ts';

/** A day: long enough for an operator to hand a code over, short enough that a lost slip of paper soon stops mattering. */
export const enrollmentTtlMsDefault = 24 * 3600 * 1000;
/** One minute to 30 days. */
export const enrollmentTtlMsMin = 60 * 1000;
export const enrollmentTtlMsMax = 30 * 24 * 3600 * 1000;
/** Expired, unused codes are deleted this long after expiry; used ones are kept (which wallet each enrolled). */
export const expiredRetentionMs = 30 * 24 * 3600 * 1000;

/** Crockford base32, no I, L, O, U: read aloud or typed from paper without confusion. 16 characters = 80 bits. */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const codeChars = 16;

export const enrollmentDbPath = (dataDir: string): string => join(dataDir, 'enrollment.db');

export type Redemption = { ok: true; account: string } | { ok: false; reason: 'unknown' | 'used' | 'expired' };

export interface EnrollmentCodesOptions {
  path: string;
  clock?: () => number;
}

interface CodeRow {
  account: string;
  expires_at: number;
  used_at: number | null;
}

/** Upper case without separators: `abcd-efgh 1234-5678` and `ABCDEFGH12345678` are the same code. */
const normalise = (code: string): string => code.toUpperCase().replace(/[\s-]/g, '');
const hashOf = (code: string): string => createHash('sha256').update(`tapsettle/v1/enrollment-code:${normalise(code)}`).digest('hex');

export class EnrollmentCodes {
  private readonly db: Database.Database;
  private readonly clock: () => number;

  constructor(options: EnrollmentCodesOptions) {
    this.clock = options.clock ?? Date.now;
    // The CLI issues codes while the gateway redeems them: a write waits for the other's lock (sideFileBusyTimeoutMs).
    this.db = openDurableFile(options.path);
    this.db.exec(`CREATE TABLE IF NOT EXISTS enrollment_codes (
      hash TEXT PRIMARY KEY,
      account TEXT NOT NULL,
      issued_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at INTEGER,
      wallet_id TEXT
    )`);
  }

  /** A new code for `account`, valid for `ttlMs`. Printed once; only its hash is kept. */
  issue(account: string, ttlMs: number = enrollmentTtlMsDefault): string {
    if (!AccountId.safeParse(account).success) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `account must be BBB-NNNNNNN, got ${JSON.stringify(account)}`);
    if (!Number.isSafeInteger(ttlMs) || ttlMs < enrollmentTtlMsMin || ttlMs > enrollmentTtlMsMax) {
      throw new CoreError('TS_ERR_INVALID_ARGUMENT', `ttlMs must be ${enrollmentTtlMsMin}..${enrollmentTtlMsMax} (one minute to 30 days), got ${ttlMs}`);
    }
    const bytes = randomBytes(codeChars);
    let code = '';
    for (let i = 0; i < codeChars; i += 1) code += alphabet[bytes[i]! & 31];
    const now = this.clock();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM enrollment_codes WHERE used_at IS NULL AND expires_at < ?').run(now - expiredRetentionMs);
      this.db.prepare('INSERT INTO enrollment_codes (hash, account, issued_at, expires_at) VALUES (?, ?, ?, ?)').run(hashOf(code), account, now, now + ttlMs);
    })();
    return code.match(/.{4}/g)!.join('-');
  }

  /** Marks the code used, atomically: of two phones presenting it at once, one wins. */
  redeem(code: string): Redemption {
    const hash = hashOf(code);
    const now = this.clock();
    return this.db.transaction((): Redemption => {
      const row = this.db.prepare('SELECT account, expires_at, used_at FROM enrollment_codes WHERE hash = ?').get(hash) as CodeRow | undefined;
      if (row === undefined) return { ok: false, reason: 'unknown' };
      if (row.used_at !== null) return { ok: false, reason: 'used' };
      if (row.expires_at <= now) return { ok: false, reason: 'expired' };
      this.db.prepare('UPDATE enrollment_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL').run(now, hash);
      return { ok: true, account: row.account };
    }).immediate();
  }

  /** Gives a redeemed code back when the enrollment itself failed for a passing reason (core overloaded, closed). */
  release(code: string): void {
    this.db.prepare('UPDATE enrollment_codes SET used_at = NULL WHERE hash = ? AND wallet_id IS NULL').run(hashOf(code));
  }

  /** Records which wallet a code enrolled (for the operator's records). */
  confirm(code: string, walletId: string): void {
    this.db.prepare('UPDATE enrollment_codes SET wallet_id = ? WHERE hash = ?').run(walletId, hashOf(code));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
