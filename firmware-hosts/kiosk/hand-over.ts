/**
 * What the kiosk hands over for a verified `approved` result while the phone
 * is (or was just) in the field: the document the core minted, checked, then
 * written with PUT TICKET (claims 15–16) or PUT EMONEY (claim 34), and the
 * outcome that follows. The program does the rest (outcome through the
 * outbox, display, counts, state).
 *
 * | product | document verifies | write | outcome |
 * |---|---|---|---|
 * | ticket | yes | 9000 | `ticket-delivered` |
 * | ticket | yes | fails (phone left, refused) | `ticket-retrievable` (wallet API lists it) |
 * | ticket | no | none | `vend-failed`: the core refunds |
 * | e-money | yes | 9000 | `emoney-delivered` |
 * | e-money | yes | fails | `emoney-retrievable` (wallet API inbox) |
 * | e-money | no | none | `emoney-retrievable`: nothing to refund — the sale was final at approval and the core holds the genuine token in the inbox |
 */
import type { WalletClient } from '../../hardware/wallet-client.ts';
import { formatMoney } from '../../protocol/index.ts';
import type { SettleResult } from '../../protocol/index.ts';
import { errorCode } from '../runtime/tap.ts';
import { checkIssuedToken } from './emoney-check.ts';
import { isEmoneyProduct } from './products.ts';
import type { KioskProduct } from './products.ts';
import { checkIssuedTicket } from './ticket-check.ts';
import type { IssuerKey } from './ticket-check.ts';

export type KioskOutcome = 'ticket-delivered' | 'ticket-retrievable' | 'vend-failed' | 'emoney-delivered' | 'emoney-retrievable';

export interface HandOver {
  outcome: KioskOutcome;
  /** For the outcome's `detail` (a technician's note). */
  detail?: string;
  /** What the customer reads. */
  display: string;
  /** The program's count that goes up. */
  count: 'delivered' | 'retrievable' | 'refunded';
  /** How the tap ended for the metrics: `failed` only when the customer gets nothing for the money (a refund). */
  tap: 'approved' | 'failed';
  /** A document that did not verify: published as an `error` event. */
  error?: string;
  /** Why the state machine goes back to idle. */
  reason: string;
}

/**
 * Checks the result's document and writes it. `writing` is called (to enter
 * the `writing` state) once the document verified, just before the write.
 */
export async function handOver(
  wallet: WalletClient, product: KioskProduct, walletId: string, result: SettleResult, issuerKeys: readonly IssuerKey[], writing: (documentId: string) => void,
): Promise<HandOver> {
  if (isEmoneyProduct(product)) {
    const check = checkIssuedToken(result.emoney, { walletId, amount: product.price }, issuerKeys);
    if (!check.ok) {
      return {
        outcome: 'emoney-retrievable', detail: `token not verified: ${check.why}`, display: 'Paid: your e-money is in your wallet app.',
        count: 'retrievable', tap: 'approved', error: `e-money token not verified: ${check.why}`, reason: `token ${check.why}`,
      };
    }
    writing(check.token.serial);
    const failed = await writeError(() => wallet.putEmoney([check.token]));
    if (failed === null) {
      const value = formatMoney(check.token.amount.minor, check.token.amount.currency);
      return { outcome: 'emoney-delivered', display: `${value} of e-money is on your phone.`, count: 'delivered', tap: 'approved', reason: 'emoney-delivered' };
    }
    return {
      outcome: 'emoney-retrievable', detail: `PUT EMONEY failed: ${failed}`, display: 'Phone removed: your e-money is in your wallet app.',
      count: 'retrievable', tap: 'approved', reason: `emoney-retrievable: ${failed}`,
    };
  }
  const check = checkIssuedTicket(result.ticket, { walletId, article: product.article, spec: product.ticket }, issuerKeys);
  if (!check.ok) {
    return {
      outcome: 'vend-failed', detail: `ticket not verified: ${check.why}`, display: 'The ticket could not be issued. Your payment is refunded.',
      count: 'refunded', tap: 'failed', error: `ticket not verified: ${check.why}`, reason: `ticket ${check.why}`,
    };
  }
  writing(check.ticket.ticketId);
  const failed = await writeError(() => wallet.putTickets([check.ticket]));
  if (failed === null) return { outcome: 'ticket-delivered', display: `${product.name}: the ticket is on your phone.`, count: 'delivered', tap: 'approved', reason: 'ticket-delivered' };
  return {
    outcome: 'ticket-retrievable', detail: `PUT TICKET failed: ${failed}`, display: 'Phone removed: your ticket is in your wallet app.',
    count: 'retrievable', tap: 'approved', reason: `ticket-retrievable: ${failed}`,
  };
}

/** The write's error code, or null when the phone took it. */
async function writeError(write: () => Promise<void>): Promise<string | null> {
  try {
    await write();
    return null;
  } catch (err) {
    return errorCode(err);
  }
}
