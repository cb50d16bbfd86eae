/**
 * The card processing apparatus's own durable record of every card
 * authorization it handled (claim 36), in its own SQLite file (default
 * `<data>/card-authorizations.db`), WAL + synchronous=FULL.
 *
 * A request is written here before it goes to the issuer, and its answer
 * after; the phone hears the answer only once it is on disk. Keyed on the
 * authorization id: a final answer is given again byte for byte to a resend
 * with the same content; a 91/96 is not final, so a resend asks the issuer
 * again. The same id from another wallet or with other content is refused.
 *
 * No PAN, CVV or PIN: the card is its issuer token and last four digits;
 * the content fingerprint is an HMAC under a gateway key (a plain hash of a
 * request would give the PAN away to a brute force of a few billion tries).
 */
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { invariant } from '../../settlement-core/errors.ts';

/** Waiting for the write lock of another connection to this file. */
const busyTimeoutMs = 5000;
/** Key bytes: an HMAC-SHA256 key as strong as its hash. */
export const fingerprintKeyBytesMin = 32;

export const cardLogPath = (dataDir: string): string => join(dataDir, 'card-authorizations.db');

/** The log's fingerprint key, derived from a master key the gateway already holds, in a domain of its own. */
export const deriveCardLogKey = (masterKey: Uint8Array): Buffer => createHmac('sha256', masterKey).update('tapsettle/v1/card-log-fingerprint').digest();

export interface LoggedRequest {
  authorizationId: string;
  walletId: string;
  /** The canonical request, card data included: only its keyed fingerprint is stored. */
  canonical: string;
  last4: string;
  amountMinor: number;
  currency: string;
  merchant: string;
  mcc: string;
}

export type Begin =
  | { kind: 'new' }
  | { kind: 'retry' }
  | { kind: 'final'; json: string }
  | { kind: 'mismatch' };

export interface LoggedAnswer {
  authorizationId: string;
  responseCode: string;
  cardToken: string | null;
  source: 'issuer' | 'gateway';
  final: boolean;
  json: string;
}

export interface LogEntry {
  authorizationId: string;
  walletId: string;
  last4: string;
  cardToken: string | null;
  amountMinor: number;
  currency: string;
  merchant: string;
  mcc: string;
  responseCode: string | null;
  source: string | null;
  final: boolean;
  attempts: number;
  requestedAt: number;
  answeredAt: number | null;
}

interface Row {
  wallet_id: string;
  fingerprint: Buffer;
  final: number;
  response_json: string | null;
}

export class CardAuthorizationLog {
  private readonly db: Database.Database;
  private readonly key: Buffer;
  private readonly clock: () => number;

  constructor(options: { path: string; fingerprintKey: Uint8Array; clock?: () => number }) {
    if (!(options.fingerprintKey instanceof Uint8Array) || options.fingerprintKey.byteLength < fingerprintKeyBytesMin) {
      throw new RangeError(`fingerprintKey: expected at least ${fingerprintKeyBytesMin} bytes (deriveCardLogKey(masterKey))`);
    }
    this.key = Buffer.from(options.fingerprintKey);
    this.clock = options.clock ?? Date.now;
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { timeout: busyTimeoutMs });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS card_authorizations (
      authorization_id TEXT PRIMARY KEY,
      wallet_id TEXT NOT NULL,
      fingerprint BLOB NOT NULL,
      last4 TEXT NOT NULL CHECK (length(last4) = 4),
      card_token TEXT,
      amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
      currency TEXT NOT NULL,
      merchant TEXT NOT NULL,
      mcc TEXT NOT NULL,
      response_code TEXT,
      source TEXT CHECK (source IS NULL OR source IN ('issuer', 'gateway')),
      final INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
      response_json TEXT,
      attempts INTEGER NOT NULL DEFAULT 1,
      requested_at INTEGER NOT NULL,
      answered_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS card_authorizations_by_wallet ON card_authorizations (wallet_id, requested_at);`);
  }

  private fingerprint(r: LoggedRequest): Buffer {
    return createHmac('sha256', this.key).update(JSON.stringify([r.walletId, r.canonical])).digest();
  }

  /** Records the request durably (or finds it): what to do with it. */
  begin(r: LoggedRequest): Begin {
    const fingerprint = this.fingerprint(r);
    return this.db.transaction((): Begin => {
      const row = this.db.prepare('SELECT wallet_id, fingerprint, final, response_json FROM card_authorizations WHERE authorization_id = ?').get(r.authorizationId) as Row | undefined;
      if (row === undefined) {
        this.db.prepare(`INSERT INTO card_authorizations (authorization_id, wallet_id, fingerprint, last4, amount_minor, currency, merchant, mcc, requested_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(r.authorizationId, r.walletId, fingerprint, r.last4, r.amountMinor, r.currency, r.merchant, r.mcc, this.clock());
        return { kind: 'new' };
      }
      if (row.wallet_id !== r.walletId || !row.fingerprint.equals(fingerprint)) return { kind: 'mismatch' };
      if (row.final === 1) {
        invariant(row.response_json !== null, 'a final card authorization has its answer');
        return { kind: 'final', json: row.response_json };
      }
      this.db.prepare('UPDATE card_authorizations SET attempts = attempts + 1 WHERE authorization_id = ?').run(r.authorizationId);
      return { kind: 'retry' };
    }).immediate();
  }

  /** Records the answer; a final one is never replaced (a late duplicate changes nothing). */
  finish(a: LoggedAnswer): void {
    this.db.prepare(`UPDATE card_authorizations SET response_code = ?, card_token = ?, source = ?, final = ?, response_json = ?, answered_at = ?
      WHERE authorization_id = ? AND final = 0`).run(a.responseCode, a.cardToken, a.source, a.final ? 1 : 0, a.json, this.clock(), a.authorizationId);
  }

  /** One entry, for operators and tests: token and last four only. */
  get(authorizationId: string): LogEntry | null {
    const row = this.db.prepare(`SELECT authorization_id AS authorizationId, wallet_id AS walletId, last4, card_token AS cardToken, amount_minor AS amountMinor, currency, merchant, mcc,
      response_code AS responseCode, source, final, attempts, requested_at AS requestedAt, answered_at AS answeredAt FROM card_authorizations WHERE authorization_id = ?`).get(authorizationId) as (Omit<LogEntry, 'final'> & { final: number }) | undefined;
    return row === undefined ? null : { ...row, final: row.final === 1 };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
