/**
 * The kiosk's own check of a ticket the core minted (claims 15–16), before
 * it is written to a phone. The result's tag does not cover the ticket (it is
 * checked by its Ed25519 signature, protocol/messages.ts), so the kiosk
 * checks the signature against the issuer keys of its retained config, and
 * that the ticket is for the wallet that paid, the article sold and the terms
 * asked for. Anything else is not written: fail closed.
 */
import { Ticket, ticketBytes, verifyEd25519 } from '../../protocol/index.ts';
import type { TicketSpec } from '../../protocol/index.ts';

export interface IssuerKey {
  keyId: string;
  publicKey: string;
}

/** What the kiosk asked for; a field left out (a sale restored after a restart without it) is not compared. */
export interface TicketExpectation {
  walletId?: string;
  article?: string;
  spec?: TicketSpec;
}

export const ticketRefusals = ['missing', 'malformed', 'unknown-key', 'bad-signature', 'wrong-wallet', 'wrong-product', 'wrong-terms'] as const;
export type TicketRefusal = (typeof ticketRefusals)[number];

export type TicketCheck = { ok: true; ticket: Ticket } | { ok: false; why: TicketRefusal };

export function checkIssuedTicket(ticket: unknown, expect: TicketExpectation, issuerKeys: readonly IssuerKey[]): TicketCheck {
  if (ticket === undefined || ticket === null) return { ok: false, why: 'missing' };
  const parsed = Ticket.safeParse(ticket);
  if (!parsed.success) return { ok: false, why: 'malformed' };
  const t = parsed.data;
  const key = issuerKeys.find((k) => k.keyId === t.keyId);
  if (key === undefined) return { ok: false, why: 'unknown-key' };
  const { sig, ...unsigned } = t;
  if (!verifyEd25519(key.publicKey, ticketBytes(unsigned), sig)) return { ok: false, why: 'bad-signature' };
  if (expect.walletId !== undefined && t.walletId !== expect.walletId) return { ok: false, why: 'wrong-wallet' };
  if (expect.article !== undefined && t.product !== expect.article) return { ok: false, why: 'wrong-product' };
  if (t.validUntil <= t.validFrom) return { ok: false, why: 'wrong-terms' };
  if (expect.spec !== undefined && (t.uses !== expect.spec.uses || t.validUntil - t.validFrom !== expect.spec.validitySec * 1000)) return { ok: false, why: 'wrong-terms' };
  return { ok: true, ticket: t };
}
