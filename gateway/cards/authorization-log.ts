/**
 * The card processing apparatus's own durable record of every card
 * authorization it handled (claim 36), in its own SQLite file (default
 * `<data>/card-authorizations.db`), WAL + synchronous=FULL.
 *
 * A request is written here before it goes to the issuer, and its answer
 * (with the ledger capture of an approval) after; whoever asked hears the
 * answer only once it is on disk. Keyed on the authorization id: a final
 * answer is given again byte for byte to a resend with the same content; a
 * 91/96 is not final, so a resend asks the issuer again. The same id from
 * another principal (wallet or device) or with other content is refused.
 * Reversals live beside it, in `card_reversals` (reversal-log.ts).
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
import { ReversalLog, reversalSchema } from './reversal-log.ts';

/** Waiting for the write lock of another connection to this file. */
const busyTimeoutMs = 5000;
/** Key bytes: an HMAC-SHA256 key as strong as its hash. */
export const fingerprintKeyBytesMin = 32;
/** PRAGMA user_version of this layout. 0: the first (wallet_id, no capture, no reversals). */
const schemaVersion = 1;

export const cardLogPath = (dataDir: string): string => join(dataDir, 'card-authorizations.db');

/** The log's fingerprint key, derived from a master key the gateway already holds, in a domain of its own. */
export const deriveCardLogKey = (masterKey: Uint8Array): Buffer => createHmac('sha256', masterKey).update('tapsettle/v1/card-log-fingerprint').digest();

/** Who asked: a wallet through the wallet API, or a device over MQTT. */
export type Principal = { kind: 'wallet'; id: string } | { kind: 'device'; id: string };

/** How a principal is stored: a wallet id is a bare UUID (as before devices paid), a device `device:<id>` (a colon is in no wallet or device id). */
export const principalKey = (p: Principal): string => (p.kind === 'wallet' ? p.id : `device:${p.id}`);

export interface LoggedRequest {
  authorizationId: string;
  principal: string;
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
  /** A reversal of this id was recorded before or while it was asked: the id is spent. */
  | { kind: 'reversed' }
  | { kind: 'mismatch' };

export interface LoggedAnswer {
  authorizationId: string;
  responseCode: string;
  cardToken: string | null;
  source: 'issuer' | 'gateway';
  final: boolean;
  json: string;
  capture?: { status: 'captured' | 'refused'; reason: string | null };
}

export interface LogEntry {
  authorizationId: string;
  principal: string;
  /** The wallet that asked, or null when a device did. */
  walletId: string | null;
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
  captureStatus: string | null;
  captureReason: string | null;
  requestedAt: number;
  answeredAt: number | null;
}

interface Row {
  principal: string;
  fingerprint: Buffer;
  final: number;
  response_json: string | null;
}

const authorizationsTable = `CREATE TABLE IF NOT EXISTS card_authorizations (
  authorization_id TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
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
  answered_at INTEGER,
  capture_status TEXT CHECK (capture_status IS NULL OR capture_status IN ('captured', 'refused')),
  capture_reason TEXT
);`;

/** Every column of an entry but the fingerprint and the stored answer. */
const entrySelect = `SELECT authorization_id AS authorizationId, principal, last4, card_token AS cardToken, amount_minor AS amountMinor, currency, merchant, mcc,
  response_code AS responseCode, source, final, attempts, capture_status AS captureStatus, capture_reason AS captureReason, requested_at AS requestedAt, answered_at AS answeredAt
  FROM card_authorizations`;

type EntryRow = Omit<LogEntry, 'final' | 'walletId'> & { final: number };

const toEntry = (row: EntryRow): LogEntry => ({ ...row, walletId: row.principal.startsWith('device:') ? null : row.principal, final: row.final === 1 });

export class CardAuthorizationLog {
  readonly reversals: ReversalLog;
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
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.migrate();
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.reversals = new ReversalLog(this.db, this.clock);
  }

  /** Version 0 had `wallet_id` (every principal was a wallet) and no capture; the rename keeps every fingerprint valid. */
  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    invariant(version <= schemaVersion, () => `the card authorization log is schema ${version}, newer than this program (${schemaVersion})`);
    this.db.transaction(() => {
      const old = this.db.prepare('SELECT 1 FROM pragma_table_info(\'card_authorizations\') WHERE name = \'wallet_id\'').get() !== undefined;
      if (old) {
        this.db.exec(`ALTER TABLE card_authorizations RENAME COLUMN wallet_id TO principal;
          ALTER TABLE card_authorizations ADD COLUMN capture_status TEXT CHECK (capture_status IS NULL OR capture_status IN ('captured', 'refused'));
          ALTER TABLE card_authorizations ADD COLUMN capture_reason TEXT;
          DROP INDEX IF EXISTS card_authorizations_by_wallet;`);
      }
      this.db.exec(authorizationsTable);
      this.db.exec('CREATE INDEX IF NOT EXISTS card_authorizations_by_principal ON card_authorizations (principal, requested_at);');
      // The operator's list, newest first, page by page (list()); an index only, so no schema version of its own.
      this.db.exec('CREATE INDEX IF NOT EXISTS card_authorizations_by_time ON card_authorizations (requested_at, authorization_id);');
      this.db.exec(reversalSchema);
      this.db.pragma(`user_version = ${schemaVersion}`);
    }).immediate();
  }

  private fingerprint(r: LoggedRequest): Buffer {
    return createHmac('sha256', this.key).update(JSON.stringify([r.principal, r.canonical])).digest();
  }

  /** Records the request durably (or finds it): what to do with it. */
  begin(r: LoggedRequest): Begin {
    const fingerprint = this.fingerprint(r);
    return this.db.transaction((): Begin => {
      const row = this.db.prepare('SELECT principal, fingerprint, final, response_json FROM card_authorizations WHERE authorization_id = ?').get(r.authorizationId) as Row | undefined;
      const reversal = this.reversals.get(r.authorizationId);
      if (row === undefined) {
        if (reversal !== null && reversal.principal !== r.principal) return { kind: 'mismatch' };
        this.db.prepare(`INSERT INTO card_authorizations (authorization_id, principal, fingerprint, last4, amount_minor, currency, merchant, mcc, requested_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(r.authorizationId, r.principal, fingerprint, r.last4, r.amountMinor, r.currency, r.merchant, r.mcc, this.clock());
        return reversal === null ? { kind: 'new' } : { kind: 'reversed' };
      }
      if (row.principal !== r.principal || !row.fingerprint.equals(fingerprint)) return { kind: 'mismatch' };
      if (row.final === 1) {
        invariant(row.response_json !== null, 'a final card authorization has its answer');
        return { kind: 'final', json: row.response_json };
      }
      // A resend within the grace period takes back the gateway's own timeout reversal, not yet sent; any other reversal stands.
      if (reversal !== null && !this.reversals.cancelDue(r.authorizationId)) return { kind: 'reversed' };
      this.db.prepare('UPDATE card_authorizations SET attempts = attempts + 1 WHERE authorization_id = ?').run(r.authorizationId);
      return { kind: 'retry' };
    }).immediate();
  }

  /** Records the answer; a final one is never replaced (a late duplicate changes nothing). */
  finish(a: LoggedAnswer): void {
    this.db.prepare(`UPDATE card_authorizations SET response_code = ?, card_token = ?, source = ?, final = ?, response_json = ?, answered_at = ?,
      capture_status = COALESCE(?, capture_status), capture_reason = COALESCE(?, capture_reason) WHERE authorization_id = ? AND final = 0`)
      .run(a.responseCode, a.cardToken, a.source, a.final ? 1 : 0, a.json, this.clock(), a.capture?.status ?? null, a.capture?.reason ?? null, a.authorizationId);
  }

  /** One entry, for operators and tests: token and last four only. */
  get(authorizationId: string): LogEntry | null {
    const row = this.db.prepare(`${entrySelect} WHERE authorization_id = ?`).get(authorizationId) as EntryRow | undefined;
    return row === undefined ? null : toEntry(row);
  }

  /**
   * Entries newest first (by when the request was logged, then id), at most
   * `limit`; with `before`, the ones after that entry in this order (the next
   * page). Null when `before` is not in the log.
   */
  list(o: { limit: number; before?: string }): LogEntry[] | null {
    invariant(Number.isSafeInteger(o.limit) && o.limit >= 1, 'a card log page has a positive limit');
    return this.db.transaction((): LogEntry[] | null => {
      if (o.before === undefined) return (this.db.prepare(`${entrySelect} ORDER BY requested_at DESC, authorization_id DESC LIMIT ?`).all(o.limit) as EntryRow[]).map(toEntry);
      const cursor = this.db.prepare('SELECT requested_at AS at FROM card_authorizations WHERE authorization_id = ?').get(o.before) as { at: number } | undefined;
      if (cursor === undefined) return null;
      return (this.db.prepare(`${entrySelect} WHERE (requested_at, authorization_id) < (?, ?) ORDER BY requested_at DESC, authorization_id DESC LIMIT ?`)
        .all(cursor.at, o.before, o.limit) as EntryRow[]).map(toEntry);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
