/**
 * What is keyed in or scanned at the purchase terminal, read into a basket:
 * pure functions over the code, the settings and the retained catalog, so
 * they are tested (and fuzzed) without a device. Every refusal is a coded
 * PosError the display shows; nothing here throws anything else.
 */
import { limits } from '../../protocol/index.ts';
import type { DeviceConfig, Purchase } from '../../protocol/index.ts';
import { PosError } from './errors.ts';
import type { PosSettings } from './settings.ts';

export interface BasketLine {
  article: string;
  name: string;
  unitMinor: number;
  quantity: number;
}

export type KeyedInput =
  | { kind: 'confirm' }
  | { kind: 'cancel' }
  | { kind: 'line'; line: BasketLine }
  | { kind: 'refused'; error: PosError };

type CodeSettings = Pick<PosSettings, 'codes' | 'codeCharsMax' | 'saleMinorMax' | 'amountArticle' | 'currency'>;

type CatalogItem = NonNullable<DeviceConfig['catalog']>[number];

const printable = /^[\x21-\x7e]+$/;
const digits = /^[0-9]+$/;
const refuse = (error: PosError): KeyedInput => ({ kind: 'refused', error });

/** Reads one code from the keypad or scanner: a control code, an amount, or a catalog article. */
export function readCode(code: string, settings: CodeSettings, catalog: readonly CatalogItem[]): KeyedInput {
  if (code.length > settings.codeCharsMax) return refuse(new PosError('TS_ERR_POS_CODE_TOO_LONG', `a code of ${code.length} characters; at most ${settings.codeCharsMax}`));
  if (!printable.test(code)) return refuse(new PosError('TS_ERR_POS_UNKNOWN_CODE', 'the code holds characters no keypad or barcode sends'));
  const { codes } = settings;
  if (code === codes.confirm) return { kind: 'confirm' };
  if (code === codes.cancel) return { kind: 'cancel' };
  const item = catalog.find((c) => c.article === code);
  if (item !== undefined) {
    if (item.price.currency !== settings.currency) return refuse(new PosError('TS_ERR_POS_CURRENCY', `${item.article} is priced in ${item.price.currency}, the terminal sells in ${settings.currency}`));
    return { kind: 'line', line: { article: item.article, name: item.name, unitMinor: item.price.minor, quantity: 1 } };
  }
  if (code.startsWith(codes.amountPrefix)) {
    const rest = code.slice(codes.amountPrefix.length);
    const minor = digits.test(rest) ? Number(rest) : NaN;
    if (!(Number.isSafeInteger(minor) && minor >= 1 && minor <= settings.saleMinorMax)) {
      return refuse(new PosError('TS_ERR_POS_BAD_AMOUNT', `an amount is ${codes.amountPrefix} then 1..${settings.saleMinorMax} in minor units`));
    }
    return { kind: 'line', line: { article: settings.amountArticle, name: 'amount', unitMinor: minor, quantity: 1 } };
  }
  return refuse(new PosError('TS_ERR_POS_UNKNOWN_CODE', 'not an article of the catalog, an amount or a control code'));
}

/** The lines of one sale, bounded in lines, in quantity per line and in total. */
export class Basket {
  private readonly items: BasketLine[] = [];

  constructor(private readonly settings: Pick<PosSettings, 'basketLinesMax' | 'saleMinorMax' | 'amountArticle' | 'basketArticle' | 'currency'>) {}

  get lines(): readonly BasketLine[] {
    return this.items;
  }

  get isEmpty(): boolean {
    return this.items.length === 0;
  }

  get totalMinor(): number {
    return this.items.reduce((sum, l) => sum + l.unitMinor * l.quantity, 0);
  }

  /** Adds a line (a second scan of the same article adds to its quantity); a coded refusal leaves the basket as it was. */
  add(line: BasketLine): PosError | null {
    if (this.totalMinor + line.unitMinor * line.quantity > this.settings.saleMinorMax) {
      return new PosError('TS_ERR_POS_TOTAL_TOO_HIGH', `the sale would exceed ${this.settings.saleMinorMax} minor units`);
    }
    // Same article at the same price only: a catalog update mid-sale makes a new line, never a repriced one.
    const same = line.article === this.settings.amountArticle ? undefined : this.items.find((l) => l.article === line.article && l.unitMinor === line.unitMinor);
    if (same !== undefined && same.quantity + line.quantity <= limits.quantityMax) {
      same.quantity += line.quantity;
      return null;
    }
    if (this.items.length >= this.settings.basketLinesMax) return new PosError('TS_ERR_POS_BASKET_FULL', `the basket holds ${this.settings.basketLinesMax} lines at most`);
    this.items.push({ ...line });
    return null;
  }

  clear(): void {
    this.items.length = 0;
  }

  /** The purchase the phone authorizes: one article (with its quantity) when the basket holds one kind, else the basket as one. */
  purchase(merchant: string): Purchase | PosError {
    const first = this.items[0];
    if (first === undefined) return new PosError('TS_ERR_POS_EMPTY_BASKET', 'nothing to pay: key in an amount or scan an article first');
    const amount = { minor: this.totalMinor, currency: this.settings.currency };
    if (this.items.length === 1) return { merchant, amount, article: first.article, quantity: first.quantity };
    return { merchant, amount, article: this.settings.basketArticle, quantity: 1 };
  }
}
