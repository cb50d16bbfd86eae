/**
 * The payment cards in the simulated phone's wallet (claim 36). A device
 * host reads one with GET CARD and sends it to the card processing
 * apparatus. Cards are put here by the phone's owner (a scenario, a test),
 * never over NFC: a reader may read a card, not write one.
 *
 * The card data is held as given; everything this class shows of a card
 * (`list`, `toString`) carries the masked number only.
 */
import { appletDataLimits } from '../../protocol/applet.ts';
import { CardData, maskPan } from '../../protocol/card-data.ts';
import { PhoneError } from './errors.ts';

export interface HeldCardView {
  index: number;
  masked: string;
  expiry: string;
}

export class CardHoldings {
  private held: CardData[] = [];

  /** Adds a card at the next index; returns that index. */
  add(card: CardData): number {
    const parsed = CardData.safeParse(card);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PhoneError('TS_ERR_PHONE_OPTION', `card: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
    }
    if (this.held.length >= appletDataLimits.cardsHeldMax) throw new PhoneError('TS_ERR_PHONE_OPTION', `card: the wallet holds at most ${appletDataLimits.cardsHeldMax} cards`);
    this.held.push(parsed.data);
    return this.held.length - 1;
  }

  /** The card at `index`, for GET CARD; undefined when there is none. */
  get(index: number): CardData | undefined {
    return this.held[index];
  }

  remove(index: number): boolean {
    if (index < 0 || index >= this.held.length) return false;
    this.held.splice(index, 1);
    return true;
  }

  get count(): number {
    return this.held.length;
  }

  /** What a screen may show: masked numbers and expiry dates. */
  list(): HeldCardView[] {
    return this.held.map((c, index) => ({ index, masked: maskPan(c.pan), expiry: c.expiry }));
  }

  toString(): string {
    return `CardHoldings(${this.list().map((c) => c.masked).join(', ')})`;
  }

  /** util.inspect and console.log show the masked view, never the card data. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
