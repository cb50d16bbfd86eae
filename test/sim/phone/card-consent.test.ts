/**
 * Claim 36 on the phone: GET CARD hands card data out only with the user's
 * consent — the same hook and timeout as AUTHORIZE PURCHASE, told apart by
 * `request.kind`, shown the card masked. A refusal (or silence past
 * consentTimeoutMs) is 6985 and no data; a phone without a hook consents, as
 * it does to purchases (the purchase terminal's card mode relies on it).
 */
import { describe, expect, it } from 'vitest';
import { appletCommands, appletData, sw } from '../../../protocol/applet.ts';
import type { CardData } from '../../../protocol/card-data.ts';
import type { ConsentRequest } from '../../../sim/phone/wallet-applet.ts';
import { authorizeRequest } from './fixtures.ts';
import { selectedPhone, send } from './helpers.ts';

const visa = '4242424242424242';
const card: CardData = { pan: visa, expiry: '3012', cvv: '123' };
const authorize = () => appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest()));

describe('GET CARD asks the user', () => {
  it('without a consent hook the phone hands the card out, as it authorizes purchases', async () => {
    const phone = await selectedPhone();
    phone.cards.add(card);
    const answer = await send(phone, appletCommands.getCard());
    expect(answer.sw).toBe(sw.ok);
    expect(appletData.card.decode(answer.data)).toEqual(card);
    expect((await send(phone, authorize())).sw).toBe(sw.ok);
  });

  it('asks with kind card-read and the masked card (never the number); yes → the card', async () => {
    const asked: ConsentRequest[] = [];
    const phone = await selectedPhone({ consent: (r) => (asked.push(r), true) });
    phone.cards.add({ pan: '5555555555554444', expiry: '2911', cvv: '999' });
    phone.cards.add(card);
    const answer = await send(phone, appletCommands.getCard(1));
    expect(answer.sw).toBe(sw.ok);
    expect(appletData.card.decode(answer.data)).toEqual(card);
    expect(asked).toEqual([{ kind: 'card-read', card: { index: 1, masked: '•••• •••• •••• 4242', expiry: '3012' } }]);
    expect(JSON.stringify(asked)).not.toContain(visa);
    expect(JSON.stringify(asked)).not.toContain('123');
  });

  it('no → 6985 and no card data; the counter and the cards are untouched', async () => {
    const phone = await selectedPhone({ consent: () => false });
    phone.cards.add(card);
    const answer = await send(phone, appletCommands.getCard());
    expect(answer.sw).toBe(sw.conditionsNotSatisfied);
    expect(answer.data.byteLength).toBe(0);
    expect(phone.counter).toBe(0);
    expect(phone.cards.count).toBe(1);
  });

  it('a user who never answers has declined once consentTimeoutMs has passed', async () => {
    const phone = await selectedPhone({ consent: () => new Promise<boolean>(() => undefined), consentTimeoutMs: 30 });
    phone.cards.add(card);
    const answer = await send(phone, appletCommands.getCard());
    expect(answer.sw).toBe(sw.conditionsNotSatisfied);
    expect(answer.data.byteLength).toBe(0);
  });

  it('the hook tells a card read from a purchase: a user may pay by tap and still keep the card to themselves', async () => {
    const kinds: ConsentRequest['kind'][] = [];
    const phone = await selectedPhone({ consent: (r) => (kinds.push(r.kind), r.kind === 'purchase') });
    phone.cards.add(card);
    expect((await send(phone, authorize())).sw).toBe(sw.ok);
    expect((await send(phone, appletCommands.getCard())).sw).toBe(sw.conditionsNotSatisfied);
    expect(kinds).toEqual(['purchase', 'card-read']);
    expect(phone.counter).toBe(1);
  });

  it('no card at the index: 6A83 without asking; the card removed while the user was asked: 6A83, no data', async () => {
    let asked = 0;
    let phoneRef: Awaited<ReturnType<typeof selectedPhone>> | null = null;
    const phone = await selectedPhone({ consent: () => {
      asked += 1;
      phoneRef!.cards.remove(0);
      return true;
    } });
    phoneRef = phone;
    expect((await send(phone, appletCommands.getCard(0))).sw).toBe(sw.recordNotFound);
    expect(asked).toBe(0);
    phone.cards.add(card);
    const answer = await send(phone, appletCommands.getCard(0));
    expect(asked).toBe(1);
    expect(answer.sw).toBe(sw.recordNotFound);
    expect(answer.data.byteLength).toBe(0);
  });

  it('a hook that throws is a refusal of the applet (6F00), never card data', async () => {
    const phone = await selectedPhone({ consent: () => {
      throw new Error('prompt crashed');
    } });
    phone.cards.add(card);
    const answer = await send(phone, appletCommands.getCard());
    expect(answer.sw).toBe(sw.unknown);
    expect(answer.data.byteLength).toBe(0);
  });
});
