/**
 * Reversals at the issuer (ISO 8583 0400 manner; docs/card-settlement.md):
 * the acquirer undoes an authorization, and an approved one gives its amount
 * back to the card's open-to-buy — once. Kept in the issuer database's own
 * `reversals` table (schema version 2), one row per authorization id, with
 * the keyed fingerprint of the request and the answer byte for byte.
 *
 * A reversal of an id the issuer has not seen is recorded too: the
 * authorization may still be on its way (the acquirer timed out), and when it
 * arrives it is declined 05 rather than taking open-to-buy nobody will give
 * back. These functions run inside CardStore's IMMEDIATE transaction.
 */
import type Database from 'better-sqlite3';
import { invariant } from '../errors.ts';
import { sameHash } from './secrets.ts';
import { ReversalResponse, issuerWireVersion } from './wire.ts';
import type { ReversalRequest, ReversalStatus } from './wire.ts';

/** Migration 2 of the issuer database. */
export const reversalsSchema = `
CREATE TABLE IF NOT EXISTS reversals (
  authorization_id TEXT PRIMARY KEY,
  fingerprint BLOB NOT NULL,
  card_token TEXT,
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('reversed', 'not-approved', 'unknown-authorization')),
  restored_minor INTEGER NOT NULL CHECK (restored_minor >= 0),
  response_json TEXT NOT NULL,
  decided_at INTEGER NOT NULL
);
`;

export type ReverseOutcome =
  | { kind: 'answer'; json: string; response: ReversalResponse; replay: boolean }
  /** The id was reversed before with other content (amount or reason). */
  | { kind: 'mismatch' }
  /** The amount is not the authorization's; nothing was written. */
  | { kind: 'amount-mismatch' };

interface AuthorizationRow {
  card_token: string | null;
  amount_minor: number;
  currency: string;
  response_code: string;
}

/** Has a reversal of this id been recorded (an authorization arriving after it is declined)? */
export const reversedBefore = (db: Database.Database, authorizationId: string): boolean =>
  db.prepare('SELECT 1 FROM reversals WHERE authorization_id = ?').get(authorizationId) !== undefined;

/** Assert on both sides of the disk: a stored answer is still a reversal answer, for its own id. */
function readBack(json: string, authorizationId: string): ReversalResponse {
  const parsed = ReversalResponse.safeParse(JSON.parse(json));
  invariant(parsed.success && parsed.data.authorizationId === authorizationId, 'a stored reversal answer reads back as one, for its own id');
  return parsed.data;
}

/** Decides one reversal and records it; the caller holds the write transaction. */
export function reverseIn(db: Database.Database, req: ReversalRequest, fingerprint: Buffer, now: number): ReverseOutcome {
  const prior = db.prepare('SELECT fingerprint, response_json FROM reversals WHERE authorization_id = ?').get(req.authorizationId) as { fingerprint: Buffer; response_json: string } | undefined;
  if (prior !== undefined) {
    if (!sameHash(prior.fingerprint, fingerprint)) return { kind: 'mismatch' };
    return { kind: 'answer', json: prior.response_json, response: readBack(prior.response_json, req.authorizationId), replay: true };
  }
  const auth = db.prepare('SELECT card_token, amount_minor, currency, response_code FROM authorizations WHERE authorization_id = ?').get(req.authorizationId) as AuthorizationRow | undefined;
  if (auth !== undefined && (auth.amount_minor !== req.amount.minor || auth.currency !== req.amount.currency)) return { kind: 'amount-mismatch' };

  let status: ReversalStatus = 'unknown-authorization';
  if (auth !== undefined) status = auth.response_code === '00' ? 'reversed' : 'not-approved';
  if (status === 'reversed') {
    invariant(auth?.card_token != null, 'an approved authorization names its card');
    const card = db.prepare('SELECT open_to_buy_minor FROM cards WHERE token = ?').get(auth.card_token) as { open_to_buy_minor: number } | undefined;
    invariant(card !== undefined, 'the card of an approved authorization is in the table');
    const changed = db.prepare('UPDATE cards SET open_to_buy_minor = ? WHERE token = ? AND open_to_buy_minor = ?')
      .run(card.open_to_buy_minor + req.amount.minor, auth.card_token, card.open_to_buy_minor).changes;
    invariant(changed === 1, 'the card update starts from the open-to-buy on disk');
  }
  const restoredMinor = status === 'reversed' ? req.amount.minor : 0;
  const response: ReversalResponse = {
    v: issuerWireVersion, authorizationId: req.authorizationId, status, amount: req.amount, restoredMinor, cardToken: auth?.card_token ?? null, decidedAt: now,
  };
  const json = JSON.stringify(response);
  db.prepare(`INSERT INTO reversals (authorization_id, fingerprint, card_token, amount_minor, currency, reason, status, restored_minor, response_json, decided_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(req.authorizationId, fingerprint, response.cardToken, req.amount.minor, req.amount.currency, req.reason, status, restoredMinor, json, now);
  return { kind: 'answer', json, response, replay: false };
}
