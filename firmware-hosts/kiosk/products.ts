/**
 * The kiosk's products: the catalog items of the retained config that carry
 * a ticket spec (CatalogItem.ticket, claims 15–16) or an e-money spec
 * (CatalogItem.emoney, claim 34: e-money of the item's price). An item with
 * both is a ticket. A customer picks one by its code — the slot label shown
 * on the kiosk, or the article id — typed on the keypad, scanned by the code
 * reader, or chosen through the station.
 */
import type { DeviceConfig, EmoneySpec, SettleRequest, TicketSpec } from '../../protocol/index.ts';
import type { SaleExpectation } from './late-sales.ts';

type CatalogItem = NonNullable<DeviceConfig['catalog']>[number];
export type TicketProduct = CatalogItem & { ticket: TicketSpec };
export type EmoneyProduct = CatalogItem & { emoney: EmoneySpec; ticket?: undefined };
export type KioskProduct = TicketProduct | EmoneyProduct;

export const isEmoneyProduct = (p: KioskProduct): p is EmoneyProduct => p.ticket === undefined;

export const kioskProducts = (config: DeviceConfig | null): KioskProduct[] =>
  (config?.catalog ?? []).filter((i): i is KioskProduct => i.ticket !== undefined || i.emoney !== undefined);

/** The product whose slot label or article id is `code` (surrounding blanks ignored), or null. */
export function findProduct(config: DeviceConfig | null, code: string): KioskProduct | null {
  const c = code.trim();
  if (c === '') return null;
  return kioskProducts(config).find((p) => p.slot === c || p.article === c) ?? null;
}

/** What the settle request asks for: a ticket (the money waits in clearing for the outcome), or e-money (final at approval: no outcome deadline). */
export function saleSpec(product: KioskProduct, outcomeDeadlineSec: number): Pick<SettleRequest, 'ticket' | 'emoney' | 'outcomeDeadlineSec'> {
  return isEmoneyProduct(product) ? { emoney: product.emoney } : { ticket: product.ticket, outcomeDeadlineSec };
}

/** What the sale's document must match when its result comes late. */
export function expectationFor(product: KioskProduct, walletId: string): SaleExpectation {
  return isEmoneyProduct(product)
    ? { kind: 'emoney', emoney: { walletId, amount: product.price } }
    : { kind: 'ticket', ticket: { walletId, article: product.article, spec: product.ticket } };
}
