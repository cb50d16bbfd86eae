/**
 * Card reversals in the card authorization log (same file, same
 * durability): one row per authorization id that is to be, or was, undone —
 * in the ledger (the capture goes back) and at the issuer (the hold on the
 * card's open-to-buy is released, ISO 8583 0400 manner). reversal-driver.ts
 * carries each row to `done`.
 *
 *   due      the gateway's own timeout reversal after a 91/96 or a failed
 *            capture, waiting out the grace period in which a resend of the
 *            same id may still be decided for real (it takes the row back)
 *   pending  to be done now, or again at `due_at` after a failed attempt
 *   done     the ledger and the issuer both answered; `answer_json` is the
 *            answer every later request for it gets, byte for byte
 *
 * A reversal may come before its authorization (the device gave up while the
 * request was on its way): the row is kept, and the authorization, when it
 * comes, is answered 96 without asking the issuer.
 */
import type Database from 'better-sqlite3';
import { invariant } from '../../settlement-core/errors.ts';

/** Why a card sale is reversed: the ledger's reasons, plus the gateway's own after a refused capture (the ledger moved nothing). */
export const reversalReasons = ['not-delivered', 'cancelled', 'timeout', 'operator', 'capture-refused'] as const;
export type ReversalReason = (typeof reversalReasons)[number];
export type ReversalState = 'due' | 'pending' | 'done';
/** What the issuer said (its ReversalResponse status), or `skipped`: it was never asked for the authorization, or declined it, so it holds nothing. */
export type IssuerPart = 'reversed' | 'not-approved' | 'unknown-authorization' | 'skipped';

export const reversalSchema = `CREATE TABLE IF NOT EXISTS card_reversals (
  authorization_id TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('not-delivered', 'cancelled', 'timeout', 'operator', 'capture-refused')),
  requested_by TEXT NOT NULL CHECK (requested_by IN ('principal', 'gateway')),
  state TEXT NOT NULL CHECK (state IN ('due', 'pending', 'done')),
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  ledger_status TEXT CHECK (ledger_status IS NULL OR ledger_status IN ('reversed', 'not-captured', 'skipped')),
  issuer_status TEXT CHECK (issuer_status IS NULL OR issuer_status IN ('reversed', 'not-approved', 'unknown-authorization', 'skipped')),
  last_error TEXT,
  answer_json TEXT,
  requested_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS card_reversals_due ON card_reversals (state, due_at);`;

export interface ReversalRow {
  authorizationId: string;
  principal: string;
  reason: ReversalReason;
  requestedBy: 'principal' | 'gateway';
  state: ReversalState;
  dueAt: number;
  attempts: number;
  ledgerStatus: 'reversed' | 'not-captured' | 'skipped' | null;
  issuerStatus: IssuerPart | null;
  lastError: string | null;
  answerJson: string | null;
  requestedAt: number;
  finishedAt: number | null;
}

export type RequestOutcome = { kind: 'recorded'; row: ReversalRow } | { kind: 'mismatch' };

const select = `SELECT authorization_id AS authorizationId, principal, reason, requested_by AS requestedBy, state, due_at AS dueAt, attempts,
  ledger_status AS ledgerStatus, issuer_status AS issuerStatus, last_error AS lastError, answer_json AS answerJson, requested_at AS requestedAt, finished_at AS finishedAt
  FROM card_reversals`;

export class ReversalLog {
  constructor(private readonly db: Database.Database, private readonly clock: () => number) {}

  get(authorizationId: string): ReversalRow | null {
    return (this.db.prepare(`${select} WHERE authorization_id = ?`).get(authorizationId) as ReversalRow | undefined) ?? null;
  }

  /** The reversals of these authorization ids (those that have one), for the operator's list. */
  getMany(authorizationIds: readonly string[]): Map<string, ReversalRow> {
    const out = new Map<string, ReversalRow>();
    if (authorizationIds.length === 0) return out;
    const rows = this.db.prepare(`${select} WHERE authorization_id IN (SELECT value FROM json_each(?)) LIMIT ?`).all(JSON.stringify(authorizationIds), authorizationIds.length) as ReversalRow[];
    for (const row of rows) out.set(row.authorizationId, row);
    return out;
  }

  private mustGet(authorizationId: string): ReversalRow {
    const row = this.get(authorizationId);
    invariant(row !== null, () => `the reversal of ${authorizationId} reads back`);
    return row;
  }

  /**
   * A reversal asked for by whoever made the authorization (or, before it
   * came, by whoever will make it). Recorded durably before anything is undone.
   * `strictReason`: the same principal asking again with another reason is a
   * mismatch (the wallet API's rule); devices get the recorded reversal.
   */
  request(authorizationId: string, principal: string, reason: ReversalReason, strictReason: boolean): RequestOutcome {
    return this.db.transaction((): RequestOutcome => {
      const owner = this.db.prepare('SELECT principal FROM card_authorizations WHERE authorization_id = ?').get(authorizationId) as { principal: string } | undefined;
      if (owner !== undefined && owner.principal !== principal) return { kind: 'mismatch' };
      const row = this.get(authorizationId);
      const now = this.clock();
      if (row === null) {
        this.db.prepare(`INSERT INTO card_reversals (authorization_id, principal, reason, requested_by, state, due_at, requested_at) VALUES (?, ?, ?, 'principal', 'pending', ?, ?)`)
          .run(authorizationId, principal, reason, now, now);
        return { kind: 'recorded', row: this.mustGet(authorizationId) };
      }
      if (row.principal !== principal) return { kind: 'mismatch' };
      if (row.state === 'due') {
        // The gateway's timeout reversal has not started: the principal's own reason is recorded instead, and it runs now.
        this.db.prepare(`UPDATE card_reversals SET reason = ?, requested_by = 'principal', state = 'pending', due_at = ? WHERE authorization_id = ?`).run(reason, now, authorizationId);
        return { kind: 'recorded', row: this.mustGet(authorizationId) };
      }
      if (strictReason && row.requestedBy === 'principal' && row.reason !== reason) return { kind: 'mismatch' };
      return { kind: 'recorded', row };
    }).immediate();
  }

  /**
   * After an answer that decided nothing for sure (91, 96, a failed capture):
   * a timeout reversal at `dueAt` unless a resend takes it back first. If a
   * reversal is already recorded, its issuer part is done again: the issuer
   * may have approved after it was last told.
   */
  scheduleTimeout(authorizationId: string, principal: string, dueAt: number): void {
    this.db.transaction(() => {
      const row = this.get(authorizationId);
      if (row === null) {
        this.db.prepare(`INSERT INTO card_reversals (authorization_id, principal, reason, requested_by, state, due_at, requested_at) VALUES (?, ?, 'timeout', 'gateway', 'due', ?, ?)`)
          .run(authorizationId, principal, dueAt, this.clock());
      } else if (row.state === 'due') {
        this.db.prepare('UPDATE card_reversals SET due_at = ? WHERE authorization_id = ?').run(dueAt, authorizationId);
      } else {
        this.reopenIssuer(authorizationId);
      }
    }).immediate();
  }

  /** The issuer approved, but the sale will not be captured: its hold must be released, whatever was done before. */
  releaseHold(authorizationId: string, principal: string): void {
    this.db.transaction(() => {
      const row = this.get(authorizationId);
      const now = this.clock();
      if (row === null) {
        this.db.prepare(`INSERT INTO card_reversals (authorization_id, principal, reason, requested_by, state, due_at, ledger_status, requested_at)
          VALUES (?, ?, 'capture-refused', 'gateway', 'pending', ?, 'skipped', ?)`).run(authorizationId, principal, now, now);
      } else {
        this.reopenIssuer(authorizationId);
      }
    }).immediate();
  }

  private reopenIssuer(authorizationId: string): void {
    this.db.prepare(`UPDATE card_reversals SET issuer_status = NULL, state = 'pending', due_at = ?, finished_at = NULL WHERE authorization_id = ?`).run(this.clock(), authorizationId);
  }

  /** A resend takes back the gateway's own timeout reversal that has not started. True when there was one (now gone). */
  cancelDue(authorizationId: string): boolean {
    return this.db.prepare(`DELETE FROM card_reversals WHERE authorization_id = ? AND state = 'due' AND requested_by = 'gateway'`).run(authorizationId).changes === 1;
  }

  /** Rows to work on now, oldest first; a `due` one becomes `pending` here, so no resend can take it back any more. */
  claimDue(now: number, max: number): string[] {
    return this.db.transaction(() => {
      const ids = (this.db.prepare(`SELECT authorization_id AS id FROM card_reversals WHERE state IN ('due', 'pending') AND due_at <= ? ORDER BY due_at, authorization_id LIMIT ?`)
        .all(now, max) as { id: string }[]).map((r) => r.id);
      const claim = this.db.prepare(`UPDATE card_reversals SET state = 'pending' WHERE authorization_id = ? AND state = 'due'`);
      for (const id of ids) claim.run(id);
      return ids;
    }).immediate();
  }

  recordLedger(authorizationId: string, status: 'reversed' | 'not-captured'): void {
    this.db.prepare('UPDATE card_reversals SET ledger_status = ? WHERE authorization_id = ? AND ledger_status IS NULL').run(status, authorizationId);
  }

  recordIssuer(authorizationId: string, status: IssuerPart): void {
    this.db.prepare('UPDATE card_reversals SET issuer_status = ? WHERE authorization_id = ?').run(status, authorizationId);
  }

  /** An attempt failed (issuer down, the merchant's balance short): again at `at`. */
  retryLater(authorizationId: string, at: number, error: string): void {
    this.db.prepare(`UPDATE card_reversals SET attempts = attempts + 1, due_at = ?, last_error = ? WHERE authorization_id = ? AND state = 'pending'`).run(at, error.slice(0, 200), authorizationId);
  }

  /** Both parts answered: done. The first answer kept is the one every later request gets. */
  finish(authorizationId: string, answerJson: string): ReversalRow {
    this.db.prepare(`UPDATE card_reversals SET state = 'done', attempts = attempts + 1, last_error = NULL, finished_at = ?, answer_json = COALESCE(answer_json, ?)
      WHERE authorization_id = ? AND state = 'pending' AND ledger_status IS NOT NULL AND issuer_status IS NOT NULL`).run(this.clock(), answerJson, authorizationId);
    return this.mustGet(authorizationId);
  }

  /** Counts by state, for /healthz and tests. */
  counts(): Record<ReversalState, number> {
    const out: Record<ReversalState, number> = { due: 0, pending: 0, done: 0 };
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM card_reversals GROUP BY state').all() as { state: ReversalState; n: number }[]) out[r.state] = r.n;
    return out;
  }
}
