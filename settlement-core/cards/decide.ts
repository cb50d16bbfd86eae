/**
 * The issuer's decision on one authorization, as a pure function of the card
 * and what the checks found. The order is the usual one: is there such a
 * card, may it be used at all, is it the cardholder, may it be used here,
 * is the money there. A card that is not in a state to verify anything
 * (blocked, restricted) is refused before any secret is checked, so it can
 * not be used as an oracle for its CVV or PIN.
 */
import { expiryPassed } from '../../protocol/card-data.ts';
import type { ResponseCode } from './response-codes.ts';
import type { AuthorizationRequest } from './wire.ts';

export const cardStatuses = ['active', 'blocked', 'restricted'] as const;
export type CardStatus = (typeof cardStatuses)[number];

export interface CardRecord {
  token: string;
  last4: string;
  expiry: string;
  currency: string;
  /** The largest single authorization. */
  authLimitMinor: number;
  /** What is left to spend; an approval takes the amount off it. */
  openToBuyMinor: number;
  /** A PIN is required above this amount (the cardholder-verification limit); null: never. */
  pinAboveMinor: number | null;
  hasPin: boolean;
  status: CardStatus;
  /** Merchant category codes the card may be used at; null: any. */
  permittedMccs: readonly string[] | null;
  /** Wrong CVV, expiry or PIN since the last good one. */
  badTries: number;
}

export interface Checks {
  luhn: boolean;
  cvvOk: boolean;
  /** null when no PIN was given, or the card has none (a PIN given for such a card is ignored). */
  pinOk: boolean | null;
}

export interface Decision {
  code: ResponseCode;
  /** The card's new state, when it changes. */
  update: { openToBuyMinor: number; badTries: number; status: CardStatus } | null;
}

export interface DecisionLimits {
  /** Wrong verifications in a row (CVV, expiry, PIN) after which the card is restricted. */
  verificationTriesMax: number;
}

function badVerification(card: CardRecord, code: ResponseCode, limits: DecisionLimits): Decision {
  const badTries = card.badTries + 1;
  return { code, update: { openToBuyMinor: card.openToBuyMinor, badTries, status: badTries >= limits.verificationTriesMax ? 'restricted' : card.status } };
}

export function decide(card: CardRecord | null, req: AuthorizationRequest, checks: Checks, nowMs: number, limits: DecisionLimits): Decision {
  if (!checks.luhn || card === null) return { code: '14', update: null };
  if (card.status === 'blocked') return { code: '05', update: null };
  if (card.status === 'restricted') return { code: '62', update: null };
  if (req.card.expiry !== card.expiry || !checks.cvvOk) return badVerification(card, '05', limits);
  if (expiryPassed(card.expiry, nowMs)) return { code: '54', update: null };
  const pinNeeded = card.pinAboveMinor !== null && req.amount.minor > card.pinAboveMinor;
  if (checks.pinOk === false) return badVerification(card, '55', limits);
  if (pinNeeded && checks.pinOk !== true) return { code: '55', update: null };
  const verified = card.badTries === 0 ? null : { openToBuyMinor: card.openToBuyMinor, badTries: 0, status: card.status };
  if (req.amount.currency !== card.currency) return { code: '57', update: verified };
  if (card.permittedMccs !== null && !card.permittedMccs.includes(req.mcc)) return { code: '57', update: verified };
  if (req.amount.minor > card.authLimitMinor) return { code: '61', update: verified };
  if (req.amount.minor > card.openToBuyMinor) return { code: '51', update: verified };
  return { code: '00', update: { openToBuyMinor: card.openToBuyMinor - req.amount.minor, badTries: 0, status: card.status } };
}
