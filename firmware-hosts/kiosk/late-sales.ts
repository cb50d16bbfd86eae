/**
 * Sales whose result may still come: a sale that timed out, or one restored
 * from the outbox after a restart. The kiosk remembers what each asked for,
 * so a late approval's ticket is checked against it before the kiosk reports
 * `ticket-retrievable` (the customer was told the ticket would be in the
 * wallet app); one whose ticket does not verify is `vend-failed` (refund).
 */
import { SettleRequest } from '../../protocol/index.ts';
import type { SettleResult } from '../../protocol/index.ts';
import { checkIssuedTicket } from './ticket-check.ts';
import type { TicketExpectation } from './ticket-check.ts';

/**
 * Bounded like the outbox the sales mirror; past it the oldest is forgotten,
 * and its late approval is then checked by signature alone.
 */
export const lateSalesMax = 1024;

type IssuerKeys = Parameters<typeof checkIssuedTicket>[2];

export type LateVerdict =
  | { outcome: null; why: string }
  | { outcome: 'ticket-retrievable' | 'vend-failed'; why: string };

/** What a settle request restored from the outbox asked for. */
export function expectationOf(body: string): TicketExpectation {
  try {
    const r = SettleRequest.safeParse(JSON.parse(body));
    if (!r.success) return {};
    return { walletId: r.data.wallet.walletId, article: r.data.purchase.article, ...(r.data.ticket ? { spec: r.data.ticket } : {}) };
  } catch {
    return {};
  }
}

export class LateSales {
  private readonly sales = new Map<string, TicketExpectation>();

  get size(): number {
    return this.sales.size;
  }

  expect(requestId: string, expectation: TicketExpectation): void {
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
  judge(result: SettleResult, issuerKeys: IssuerKeys): LateVerdict {
    const expectation = this.sales.get(result.requestId) ?? {};
    this.sales.delete(result.requestId);
    if (result.status !== 'approved') return { outcome: null, why: `declined ${result.reason ?? ''}` };
    const check = checkIssuedTicket(result.ticket, expectation, issuerKeys);
    return check.ok ? { outcome: 'ticket-retrievable', why: 'late result: the phone had gone; the ticket is in the wallet API' } : { outcome: 'vend-failed', why: `late result, ticket not verified: ${check.why}` };
  }
}
