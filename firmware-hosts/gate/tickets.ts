/**
 * Ticket mode (claims 17–18): the gate admits on an issuer-signed ticket it
 * verifies offline — signature under keys.issuer, the phone's own wallet,
 * the validity window, the products this gate admits, and uses left at this
 * gate. Of the tickets on the phone, the first that passes is used; when none
 * does, the refusal names why the most promising one failed.
 */
import type { DeviceConfig, Ticket } from '../../protocol/index.ts';
import { ticketVerifies } from './signatures.ts';

export type TicketRefusal = 'no-ticket' | 'ticket-forged' | 'ticket-other-wallet' | 'ticket-product' | 'ticket-not-yet-valid' | 'ticket-expired' | 'ticket-used';

/** Refusals from least to most promising: the one reported is the ticket that got furthest. */
const order: readonly TicketRefusal[] = ['no-ticket', 'ticket-forged', 'ticket-other-wallet', 'ticket-product', 'ticket-not-yet-valid', 'ticket-expired', 'ticket-used'];

export interface TicketCheck {
  walletId: string;
  now: number;
  config: DeviceConfig | null;
  products: readonly string[] | undefined;
  usesHere(ticketId: string): number;
}

function check(t: Ticket, c: TicketCheck): TicketRefusal | null {
  if (!ticketVerifies(c.config, t)) return 'ticket-forged';
  if (t.walletId !== c.walletId) return 'ticket-other-wallet';
  if (c.products !== undefined && !c.products.includes(t.product)) return 'ticket-product';
  if (c.now < t.validFrom) return 'ticket-not-yet-valid';
  if (c.now >= t.validUntil) return 'ticket-expired';
  if (c.usesHere(t.ticketId) >= t.uses) return 'ticket-used';
  return null;
}

export function chooseTicket(tickets: readonly Ticket[], c: TicketCheck): { ticket: Ticket } | { refused: TicketRefusal } {
  let best: TicketRefusal = 'no-ticket';
  for (const t of tickets) {
    const why = check(t, c);
    if (why === null) return { ticket: t };
    if (order.indexOf(why) > order.indexOf(best)) best = why;
  }
  return { refused: best };
}
