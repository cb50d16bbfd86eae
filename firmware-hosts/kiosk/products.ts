/**
 * The kiosk's products: the catalog items of the retained config that carry a
 * ticket spec (CatalogItem.ticket). A customer picks one by its code — the
 * slot label shown on the kiosk, or the article id — typed on the keypad,
 * scanned by the code reader, or chosen through the station.
 */
import type { DeviceConfig, TicketSpec } from '../../protocol/index.ts';

type CatalogItem = NonNullable<DeviceConfig['catalog']>[number];
export type TicketProduct = CatalogItem & { ticket: TicketSpec };

export const ticketProducts = (config: DeviceConfig | null): TicketProduct[] =>
  (config?.catalog ?? []).filter((i): i is TicketProduct => i.ticket !== undefined);

/** The product whose slot label or article id is `code` (surrounding blanks ignored), or null. */
export function findProduct(config: DeviceConfig | null, code: string): TicketProduct | null {
  const c = code.trim();
  if (c === '') return null;
  return ticketProducts(config).find((p) => p.slot === c || p.article === c) ?? null;
}
