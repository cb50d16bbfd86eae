/**
 * The kiosk's own check of an e-money token the core minted (claim 34),
 * before it is written to a phone with PUT EMONEY. The result's tag does not
 * cover the token (it carries its own Ed25519 signature), so the kiosk checks
 * the signature against the issuer keys of its retained config, and that the
 * token is held by the wallet that paid and is worth the price paid. A token
 * that fails is not written (fail closed) — but the sale stands: the core
 * recorded the genuine token in the wallet's inbox with the approval.
 */
import { EmoneyToken, emoneyTokenBytes, verifyEd25519 } from '../../protocol/index.ts';
import type { Money } from '../../protocol/index.ts';
import type { IssuerKey } from './ticket-check.ts';

/** What the kiosk sold; a field left out (a sale restored after a restart without it) is not compared. */
export interface EmoneyExpectation {
  walletId?: string;
  amount?: Money;
}

export const emoneyRefusals = ['missing', 'malformed', 'unknown-key', 'bad-signature', 'wrong-holder', 'wrong-amount'] as const;
export type EmoneyRefusal = (typeof emoneyRefusals)[number];

export type EmoneyCheck = { ok: true; token: EmoneyToken } | { ok: false; why: EmoneyRefusal };

export function checkIssuedToken(token: unknown, expect: EmoneyExpectation, issuerKeys: readonly IssuerKey[]): EmoneyCheck {
  if (token === undefined || token === null) return { ok: false, why: 'missing' };
  const parsed = EmoneyToken.safeParse(token);
  if (!parsed.success) return { ok: false, why: 'malformed' };
  const t = parsed.data;
  const key = issuerKeys.find((k) => k.keyId === t.keyId);
  if (key === undefined) return { ok: false, why: 'unknown-key' };
  const { sig, ...unsigned } = t;
  if (!verifyEd25519(key.publicKey, emoneyTokenBytes(unsigned), sig)) return { ok: false, why: 'bad-signature' };
  if (expect.walletId !== undefined && t.holder !== expect.walletId) return { ok: false, why: 'wrong-holder' };
  if (expect.amount !== undefined && (t.amount.minor !== expect.amount.minor || t.amount.currency !== expect.amount.currency)) return { ok: false, why: 'wrong-amount' };
  return { ok: true, token: t };
}
