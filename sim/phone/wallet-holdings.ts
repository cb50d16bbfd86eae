/**
 * What the wallet holds besides its key and counter: tickets, the admission
 * info of an open journey, e-money tokens. Every list is bounded by the
 * applet's limits, and the wallet keeps only documents issued to itself —
 * a gate that wrote another wallet's admission here has a bug worth hearing
 * about (6A80) rather than a phone that quietly carries someone else's trip.
 */
import { appletDataLimits, putMode, sw } from '../../protocol/applet.ts';
import type { Admission, EmoneyToken, Ticket } from '../../protocol/index.ts';

/** Adds `incoming` to `held` (a document with the same id replaces the old one) or replaces the whole list. */
function merge<T>(held: readonly T[], incoming: readonly T[], idOf: (doc: T) => string, replaceAll: boolean): T[] {
  if (replaceAll) return [...incoming];
  const incomingIds = new Set(incoming.map(idOf));
  return [...held.filter((doc) => !incomingIds.has(idOf(doc))), ...incoming];
}

export class WalletHoldings {
  readonly walletId: string;
  private heldTickets: Ticket[] = [];
  private heldAdmission: Admission | null = null;
  private heldEmoney: EmoneyToken[] = [];

  constructor(walletId: string) {
    this.walletId = walletId;
  }

  tickets(): readonly Ticket[] {
    return this.heldTickets;
  }

  admission(): Admission | null {
    return this.heldAdmission;
  }

  emoney(): readonly EmoneyToken[] {
    return this.heldEmoney;
  }

  /** PUT TICKET. Returns the status word to answer. */
  putTickets(tickets: readonly Ticket[], mode: number): number {
    if (mode !== putMode.add && mode !== putMode.replaceAll) return sw.incorrectP1P2;
    if (tickets.some((t) => t.walletId !== this.walletId)) return sw.wrongData;
    const next = merge(this.heldTickets, tickets, (t) => t.ticketId, mode === putMode.replaceAll);
    if (next.length > appletDataLimits.ticketsHeldMax) return sw.notEnoughMemory;
    this.heldTickets = next;
    return sw.ok;
  }

  /** PUT ADMISSION: one admission replaces the held one; none clears it (the journey ended). */
  putAdmissions(admissions: readonly Admission[]): number {
    if (admissions.some((a) => a.walletId !== this.walletId)) return sw.wrongData;
    this.heldAdmission = admissions[0] ?? null;
    return sw.ok;
  }

  /** PUT EMONEY. Returns the status word to answer. */
  putEmoney(tokens: readonly EmoneyToken[], mode: number): number {
    if (mode !== putMode.add && mode !== putMode.replaceAll) return sw.incorrectP1P2;
    if (tokens.some((t) => t.holder !== this.walletId)) return sw.wrongData;
    const next = merge(this.heldEmoney, tokens, (t) => t.serial, mode === putMode.replaceAll);
    if (next.length > appletDataLimits.emoneyTokensHeldMax) return sw.notEnoughMemory;
    this.heldEmoney = next;
    return sw.ok;
  }
}
