/**
 * The issuer's card table and authorization log (claim 36), in its own
 * SQLite file — never the ledger's: a card issuer is another institution,
 * and its secrets must not travel with the ledger's backups.
 *
 * WAL with synchronous=FULL: an approval is answered only after it, and the
 * open-to-buy it took, are on disk. Each authorization is one IMMEDIATE
 * transaction: look the id up, decide, update the card, record the answer.
 * The authorization id is the idempotency key: a resend with the same content
 * gets the stored answer byte for byte, other content is refused. A reversal
 * (reversals.ts) gives an approval's open-to-buy back, once.
 *
 * No column holds a PAN, CVV or PIN: a keyed hash (secrets.ts), a token and
 * the last four digits only.
 */
import type Database from 'better-sqlite3';
import { openDurableFile } from '../store/sqlite/durable-file.ts';
import { z } from 'zod';
import { Currency, limits as wireLimits } from '../../protocol/index.ts';
import { CardExpiry, Cvv, MerchantCategory, Pan, Pin, luhnValid, maskPan, panLastFour } from '../../protocol/card-data.ts';
import { invariant } from '../errors.ts';
import { decide, cardStatuses } from './decide.ts';
import type { CardRecord, CardStatus, DecisionLimits } from './decide.ts';
import { CardError, scrubDigits } from './errors.ts';
import { isApproved } from './response-codes.ts';
import {
  checkPepper, cvvHash, newApprovalCode, newCardToken, panHash, pepperCheck, pinHash, requestFingerprint, sameHash,
} from './secrets.ts';
import { reversalsSchema, reverseIn, reversedBefore } from './reversals.ts';
import type { ReverseOutcome } from './reversals.ts';
import { AuthorizationResponse, canonicalRequest, canonicalReversal, issuerWireVersion } from './wire.ts';
import type { AuthorizationRequest, ReversalRequest } from './wire.ts';

export interface CardStoreLimits extends DecisionLimits {
  /** Waiting for another process's write lock (the CLI adding a card while the host runs). */
  busyTimeoutMs: number;
  /** Merchant categories one card may be limited to: a handful in practice; bounded so a row stays small. */
  permittedMccsMax: number;
}

export const defaultCardStoreLimits: CardStoreLimits = {
  // Three, as for a PIN at a terminal: enough for a typo, too few to guess a 3-digit CVV (1 in 333).
  verificationTriesMax: 3,
  busyTimeoutMs: 5000,
  permittedMccsMax: 32,
};

export interface CardStoreOptions {
  path: string;
  /** The issuer pepper: at least 32 random bytes, kept outside the database. */
  pepper: Uint8Array;
  clock?: () => number;
  limits?: Partial<CardStoreLimits>;
}

const AddCardInput = z.strictObject({
  pan: Pan.refine(luhnValid, 'the card number fails the Luhn check'),
  expiry: CardExpiry,
  cvv: Cvv,
  pin: Pin.optional(),
  currency: Currency,
  authLimitMinor: z.number().int().min(1).max(wireLimits.amountMinorMax),
  openToBuyMinor: z.number().int().min(0).max(wireLimits.balanceMinorMax),
  pinAboveMinor: z.number().int().min(0).max(wireLimits.amountMinorMax).nullable().optional(),
  permittedMccs: z.array(MerchantCategory).min(1).nullable().optional(),
  status: z.enum(cardStatuses).optional(),
}).refine((c) => c.pinAboveMinor === undefined || c.pinAboveMinor === null || c.pin !== undefined, { message: 'pinAboveMinor needs a PIN on the card', path: ['pinAboveMinor'] });
export type AddCardInput = z.input<typeof AddCardInput>;

/** A card as the issuer's operator sees it: never the number. */
export interface CardView extends CardRecord {
  masked: string;
}

export type AuthorizeOutcome =
  | { kind: 'answer'; json: string; response: AuthorizationResponse; replay: boolean }
  | { kind: 'mismatch' };

interface CardRow {
  token: string;
  pan_hash: Buffer;
  last4: string;
  expiry: string;
  cvv_hash: Buffer;
  pin_hash: Buffer | null;
  pin_above_minor: number | null;
  currency: string;
  auth_limit_minor: number;
  open_to_buy_minor: number;
  status: string;
  mccs: string | null;
  bad_tries: number;
}

interface AuthRow {
  fingerprint: Buffer;
  response_json: string;
}

/** Numbered migrations; `PRAGMA user_version` holds how many are applied. 1: cards and authorizations; 2: reversals. */
const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cards (
  token TEXT PRIMARY KEY,
  pan_hash BLOB NOT NULL UNIQUE,
  last4 TEXT NOT NULL CHECK (length(last4) = 4),
  expiry TEXT NOT NULL CHECK (length(expiry) = 4),
  cvv_hash BLOB NOT NULL,
  pin_hash BLOB,
  pin_above_minor INTEGER CHECK (pin_above_minor IS NULL OR pin_above_minor >= 0),
  currency TEXT NOT NULL,
  auth_limit_minor INTEGER NOT NULL CHECK (auth_limit_minor > 0),
  open_to_buy_minor INTEGER NOT NULL CHECK (open_to_buy_minor >= 0),
  status TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'restricted')),
  mccs TEXT,
  bad_tries INTEGER NOT NULL DEFAULT 0 CHECK (bad_tries >= 0),
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS authorizations (
  authorization_id TEXT PRIMARY KEY,
  fingerprint BLOB NOT NULL,
  card_token TEXT,
  last4 TEXT NOT NULL,
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL,
  merchant TEXT NOT NULL,
  mcc TEXT NOT NULL,
  response_code TEXT NOT NULL,
  response_json TEXT NOT NULL,
  decided_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS authorizations_by_card ON authorizations (card_token, decided_at);
`;
const migrations: readonly string[] = [schema, reversalsSchema];
const schemaVersion = migrations.length;

function checkLimits(l: CardStoreLimits): void {
  for (const [name, value] of Object.entries(l)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', `limit ${name} must be an integer ≥ 1, got ${String(value)}`);
  }
}

const isSqliteError = (err: unknown): boolean => err instanceof Error && err.name === 'SqliteError';

export class CardStore {
  private readonly db: Database.Database;
  private readonly pepper: Buffer;
  private readonly clock: () => number;
  readonly limits: CardStoreLimits;

  constructor(options: CardStoreOptions) {
    checkPepper(options.pepper);
    this.limits = { ...defaultCardStoreLimits, ...options.limits };
    checkLimits(this.limits);
    this.pepper = Buffer.from(options.pepper);
    this.clock = options.clock ?? Date.now;
    this.db = openDurableFile(options.path, this.limits.busyTimeoutMs);
    try {
      this.migrate();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > schemaVersion) throw new CardError('TS_ERR_CARD_STORE', `issuer database schema ${version} is newer than this program (${schemaVersion})`);
    this.db.transaction(() => {
      for (const migration of migrations.slice(version)) this.db.exec(migration);
      this.db.pragma(`user_version = ${schemaVersion}`);
      const check = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('pepper_check') as { value: Buffer } | undefined;
      if (check === undefined) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('pepper_check', pepperCheck(this.pepper));
      else if (!sameHash(check.value, pepperCheck(this.pepper))) throw new CardError('TS_ERR_CARD_PEPPER', 'this issuer database was created with another pepper; use the pepper file it was made with');
    }).immediate();
  }

  private guard<T>(what: string, fn: () => T): T {
    if (!this.db.open) throw new CardError('TS_ERR_CARD_CLOSED', 'the issuer database is closed');
    try {
      return fn();
    } catch (err) {
      if (isSqliteError(err)) throw new CardError('TS_ERR_CARD_STORE', `${what}: ${scrubDigits((err as Error).message)}`);
      throw err;
    }
  }

  addCard(input: AddCardInput): CardView {
    const parsed = AddCardInput.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', scrubDigits(`${issue?.path.join('.') || 'card'}: ${issue?.message ?? 'invalid'}`));
    }
    const c = parsed.data;
    const mccs = c.permittedMccs ?? null;
    if (mccs !== null && mccs.length > this.limits.permittedMccsMax) throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', `permittedMccs: at most ${this.limits.permittedMccsMax}`);
    const token = newCardToken();
    const hash = panHash(this.pepper, c.pan);
    return this.guard('add card', () => this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM cards WHERE pan_hash = ?').get(hash) !== undefined) throw new CardError('TS_ERR_CARD_EXISTS', `a card ${maskPan(c.pan)} is already in the table`);
      this.db.prepare(`INSERT INTO cards (token, pan_hash, last4, expiry, cvv_hash, pin_hash, pin_above_minor, currency, auth_limit_minor, open_to_buy_minor, status, mccs, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        token, hash, panLastFour(c.pan), c.expiry, cvvHash(this.pepper, token, c.cvv), c.pin === undefined ? null : pinHash(this.pepper, token, c.pin),
        c.pinAboveMinor ?? null, c.currency, c.authLimitMinor, c.openToBuyMinor, c.status ?? 'active', mccs === null ? null : mccs.join(','), this.clock(),
      );
      return this.viewOf(token);
    }).immediate());
  }

  /** Blocks, restricts or reactivates a card; reactivating clears its wrong-verification count. */
  setStatus(token: string, status: CardStatus): CardView {
    if (!(cardStatuses as readonly string[]).includes(status)) throw new CardError('TS_ERR_CARD_INVALID_ARGUMENT', `status must be one of ${cardStatuses.join(', ')}`);
    return this.guard('set status', () => {
      const changed = this.db.prepare('UPDATE cards SET status = ?, bad_tries = CASE WHEN ? = \'active\' THEN 0 ELSE bad_tries END WHERE token = ?').run(status, status, token).changes;
      if (changed === 0) throw new CardError('TS_ERR_CARD_UNKNOWN', 'no card with this token');
      return this.viewOf(token);
    });
  }

  getCard(token: string): CardView | null {
    return this.guard('read card', () => {
      const row = this.db.prepare('SELECT * FROM cards WHERE token = ?').get(token) as CardRow | undefined;
      return row === undefined ? null : toView(row);
    });
  }

  listCards(): CardView[] {
    return this.guard('list cards', () => (this.db.prepare('SELECT * FROM cards ORDER BY created_at, token').all() as CardRow[]).map(toView));
  }

  private viewOf(token: string): CardView {
    const row = this.db.prepare('SELECT * FROM cards WHERE token = ?').get(token) as CardRow | undefined;
    invariant(row !== undefined, 'a card just written reads back');
    return toView(row);
  }

  /** Decides one authorization durably, or returns the stored answer of an earlier one with the same id. */
  authorize(req: AuthorizationRequest): AuthorizeOutcome {
    const fingerprint = requestFingerprint(this.pepper, canonicalRequest(req));
    return this.guard('authorize', () => this.db.transaction((): AuthorizeOutcome => {
      const prior = this.db.prepare('SELECT fingerprint, response_json FROM authorizations WHERE authorization_id = ?').get(req.authorizationId) as AuthRow | undefined;
      if (prior !== undefined) {
        if (!sameHash(prior.fingerprint, fingerprint)) return { kind: 'mismatch' };
        return { kind: 'answer', json: prior.response_json, response: readBack(prior.response_json, req.authorizationId), replay: true };
      }
      return this.decideAndRecord(req, fingerprint);
    }).immediate());
  }

  private decideAndRecord(req: AuthorizationRequest, fingerprint: Buffer): AuthorizeOutcome {
    const now = this.clock();
    const luhn = luhnValid(req.card.pan);
    const row = luhn ? (this.db.prepare('SELECT * FROM cards WHERE pan_hash = ?').get(panHash(this.pepper, req.card.pan)) as CardRow | undefined) : undefined;
    const card = row === undefined ? null : toRecord(row);
    const checks = {
      luhn,
      cvvOk: row !== undefined && sameHash(row.cvv_hash, cvvHash(this.pepper, row.token, req.card.cvv)),
      pinOk: row === undefined || row.pin_hash === null || req.pin === undefined ? null : sameHash(row.pin_hash, pinHash(this.pepper, row.token, req.pin)),
    };
    // A reversal recorded before its authorization wins: the acquirer gave up on it, so it takes nothing.
    const decision = reversedBefore(this.db, req.authorizationId) ? { code: '05' as const, update: null } : decide(card, req, checks, now, this.limits);
    if (card !== null && decision.update !== null) {
      const u = decision.update;
      invariant(u.openToBuyMinor >= 0 && u.openToBuyMinor <= card.openToBuyMinor, 'an authorization only ever lowers open-to-buy, never below zero');
      invariant(isApproved(decision.code) === (u.openToBuyMinor < card.openToBuyMinor), 'only an approval takes open-to-buy');
      const changed = this.db.prepare('UPDATE cards SET open_to_buy_minor = ?, bad_tries = ?, status = ? WHERE token = ? AND open_to_buy_minor = ?')
        .run(u.openToBuyMinor, u.badTries, u.status, card.token, card.openToBuyMinor).changes;
      invariant(changed === 1, 'the card update starts from the open-to-buy on disk');
    }
    const approved = isApproved(decision.code);
    const response: AuthorizationResponse = {
      v: issuerWireVersion, authorizationId: req.authorizationId, responseCode: decision.code, approved,
      approvalCode: approved ? newApprovalCode() : null, cardToken: card?.token ?? null, last4: panLastFour(req.card.pan), amount: req.amount, decidedAt: now,
    };
    const json = JSON.stringify(response);
    this.db.prepare(`INSERT INTO authorizations (authorization_id, fingerprint, card_token, last4, amount_minor, currency, merchant, mcc, response_code, response_json, decided_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      req.authorizationId, fingerprint, response.cardToken, response.last4, req.amount.minor, req.amount.currency, req.merchant, req.mcc, decision.code, json, now,
    );
    return { kind: 'answer', json, response, replay: false };
  }

  /**
   * Reverses one authorization durably (reversals.ts), or returns the stored
   * answer of an earlier reversal with the same id and content.
   */
  reverse(req: ReversalRequest): ReverseOutcome {
    const fingerprint = requestFingerprint(this.pepper, canonicalReversal(req));
    return this.guard('reverse', () => this.db.transaction((): ReverseOutcome => reverseIn(this.db, req, fingerprint, this.clock())).immediate());
  }

  /** Authorizations of one card, newest first (the issuer's statement of the card). */
  authorizationsOf(token: string, limit = 50): { authorizationId: string; responseCode: string; amountMinor: number; currency: string; merchant: string; decidedAt: number }[] {
    return this.guard('read authorizations', () => (this.db.prepare(`SELECT authorization_id AS authorizationId, response_code AS responseCode, amount_minor AS amountMinor, currency, merchant, decided_at AS decidedAt
      FROM authorizations WHERE card_token = ? ORDER BY decided_at DESC, authorization_id DESC LIMIT ?`).all(token, Math.min(Math.max(1, Math.trunc(limit)), 500)) as never));
  }

  /** The database answers. */
  ping(): boolean {
    try {
      return this.db.open && this.db.prepare('SELECT 1 AS one').get() !== undefined;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Assert on both sides of the disk: a stored answer must still be a valid answer to the same id. */
function readBack(json: string, authorizationId: string): AuthorizationResponse {
  const parsed = AuthorizationResponse.safeParse(JSON.parse(json));
  invariant(parsed.success && parsed.data.authorizationId === authorizationId, 'a stored authorization answer reads back as one, for its own id');
  return parsed.data;
}

function toRecord(row: CardRow): CardRecord {
  invariant((cardStatuses as readonly string[]).includes(row.status) && row.open_to_buy_minor >= 0 && row.bad_tries >= 0, 'a card row reads back valid');
  return {
    token: row.token, last4: row.last4, expiry: row.expiry, currency: row.currency, authLimitMinor: row.auth_limit_minor, openToBuyMinor: row.open_to_buy_minor,
    pinAboveMinor: row.pin_above_minor, hasPin: row.pin_hash !== null, status: row.status as CardStatus,
    permittedMccs: row.mccs === null ? null : row.mccs.split(','), badTries: row.bad_tries,
  };
}

function toView(row: CardRow): CardView {
  const r = toRecord(row);
  return { ...r, masked: maskPan(r.last4), permittedMccs: r.permittedMccs === null ? null : [...r.permittedMccs] };
}
