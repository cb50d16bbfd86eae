/**
 * Sales whose result may still come: a sale that timed out, or one restored
 * from the outbox after a restart. The kiosk remembers what each asked for,
 * so a late approval's document is checked against it before the kiosk
 * reports it: a ticket that verifies is `ticket-retrievable` (the customer was
 * told the ticket would be in the wallet app), one that does not is
 * `vend-failed` (refund); e-money is `emoney-retrievable` either way — the
 * sale was final at approval and the core holds the token in the wallet's
 * inbox — with the check's verdict in the detail.
 */
import { SettleRequest } from '../../protocol/index.ts';
import type { SettleResult } from '../../protocol/index.ts';
import { checkIssuedToken } from './emoney-check.ts';
import type { EmoneyExpectation } from './emoney-check.ts';
import { checkIssuedTicket } from './ticket-check.ts';
import type { IssuerKey, TicketExpectation } from './ticket-check.ts';

/**
 * Bounded like the outbox the sales mirror; past it the oldest is forgotten,
 * and its late approval is then checked by signature alone.
 */
export const lateSalesMax = 1024;

/** What a sale asked for: a ticket or e-money, with what its document must match. */
export type SaleExpectation = { kind: 'ticket'; ticket: TicketExpectation } | { kind: 'emoney'; emoney: EmoneyExpectation };

export type LateVerdict =
  | { outcome: null; why: string }
  | { outcome: 'ticket-retrievable' | 'vend-failed' | 'emoney-retrievable'; why: string; verified: boolean };

/** What a settle request restored from the outbox asked for; null when it cannot be read (judged by the result alone). */
export function expectationOf(body: string): SaleExpectation | null {
  try {
    const r = SettleRequest.safeParse(JSON.parse(body));
    if (!r.success) return null;
    const walletId = r.data.wallet.walletId;
    if (r.data.emoney !== undefined) return { kind: 'emoney', emoney: { walletId, amount: r.data.purchase.amount } };
    return { kind: 'ticket', ticket: { walletId, article: r.data.purchase.article, ...(r.data.ticket ? { spec: r.data.ticket } : {}) } };
  } catch {
    return null;
  }
}

export class LateSales {
  private readonly sales = new Map<string, SaleExpectation | null>();

  get size(): number {
    return this.sales.size;
  }

  expect(requestId: string, expectation: SaleExpectation | null): void {
    if (this.sales.size >= lateSalesMax) {
      const oldest = this.sales.keys().next().value;
      if (oldest !== undefined) this.sales.delete(oldest);
    }
    this.sales.set(requestId, expectation);
  }

  /** Every settle request still pending in the outbox (after a restart). */
  restore(pending: readonly { id: string; kind: string; body: string }[]): void {
    for (const e of pending) if (e.kind === 'settle') this.expect(e.id, expectationOf(e.body));
  }

  /** Forgets the sale and says which outcome its late result calls for (none for a decline). */
  judge(result: SettleResult, issuerKeys: readonly IssuerKey[]): LateVerdict {
    // A sale forgotten or unreadable is judged by what the result carries.
    const expectation = this.sales.get(result.requestId)
      ?? (result.emoney !== undefined ? { kind: 'emoney' as const, emoney: {} } : { kind: 'ticket' as const, ticket: {} });
    this.sales.delete(result.requestId);
    if (result.status !== 'approved') return { outcome: null, why: `declined ${result.reason ?? ''}` };
    if (expectation.kind === 'emoney') {
      const check = checkIssuedToken(result.emoney, expectation.emoney, issuerKeys);
      return check.ok
        ? { outcome: 'emoney-retrievable', why: 'late result: the phone had gone; the e-money is in the wallet API inbox', verified: true }
        : { outcome: 'emoney-retrievable', why: `late result, token not verified: ${check.why}; the core keeps it in the wallet API inbox`, verified: false };
    }
    const check = checkIssuedTicket(result.ticket, expectation.ticket, issuerKeys);
    return check.ok
      ? { outcome: 'ticket-retrievable', why: 'late result: the phone had gone; the ticket is in the wallet API', verified: true }
      : { outcome: 'vend-failed', why: `late result, ticket not verified: ${check.why}`, verified: false };
  }
}
