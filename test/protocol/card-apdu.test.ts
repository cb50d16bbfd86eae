/** Claim 36 over NFC: the GET CARD command, its data codec, the Luhn check and the mask, and the simulated phone's answers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AppletCodecError, appletCommands, appletData, appletDataLimits, decodeCommandApdu, encodeCommandApdu, ins, sw,
} from '../../protocol/applet.ts';
import { CardData, expiryPassed, luhnCheckDigit, luhnValid, maskPan } from '../../protocol/card-data.ts';
import { send, selectedPhone } from '../sim/phone/helpers.ts';

const visa = '4242424242424242';
const card: CardData = { pan: visa, expiry: '3012', cvv: '123' };
/** Any digit string of a PAN's length, made Luhn-valid. */
const arbPan = fc.integer({ min: 11, max: 18 }).chain((n) => fc.stringMatching(new RegExp(`^\\d{${n}}$`))).map((p) => `${p}${luhnCheckDigit(p)}`);
const arbCard = fc.record({
  pan: arbPan,
  expiry: fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 12 })).map(([y, m]) => `${String(y).padStart(2, '0')}${String(m).padStart(2, '0')}`),
  cvv: fc.stringMatching(/^\d{3,4}$/),
});

describe('Luhn (ISO/IEC 7812-1)', () => {
  it('accepts known good numbers and refuses one changed digit or a swap of neighbours', () => {
    for (const good of [visa, '5555555555554444', '378282246310005', '6011111111111117', '79927398713']) expect(luhnValid(good), good).toBe(true);
    expect(luhnValid('4242424242424241')).toBe(false);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('2424424242424242')).toBe(false);
  });

  it('refuses what is not digits', () => {
    for (const bad of ['', '0', '4242 4242 4242 4242', '42424242424242x2', '-4242424242424242', '٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢']) expect(luhnValid(bad), bad).toBe(false);
  });

  it('detects every single-digit error (property)', () => {
    fc.assert(fc.property(arbPan, fc.nat(), fc.integer({ min: 1, max: 9 }), (pan, at, delta) => {
      const i = at % pan.length;
      const changed = `${pan.slice(0, i)}${(Number(pan[i]) + delta) % 10}${pan.slice(i + 1)}`;
      expect(luhnValid(pan)).toBe(true);
      expect(luhnValid(changed)).toBe(false);
    }), { seed: 36, numRuns: 500 });
  });
});

describe('mask and expiry', () => {
  it('shows the last four digits only, whatever the length', () => {
    expect(maskPan(visa)).toBe('•••• •••• •••• 4242');
    expect(maskPan('378282246310005')).toBe('•••• •••• •••• 0005');
    expect(maskPan(visa)).not.toContain('424242');
  });

  it('a card is valid through the last day of its expiry month (UTC)', () => {
    expect(expiryPassed('2502', Date.UTC(2025, 1, 28, 23, 59, 59))).toBe(false);
    expect(expiryPassed('2502', Date.UTC(2025, 2, 1))).toBe(true);
    expect(expiryPassed('2512', Date.UTC(2025, 11, 31, 23))).toBe(false);
    expect(expiryPassed('2512', Date.UTC(2026, 0, 1))).toBe(true);
  });
});

describe('GET CARD codec', () => {
  it('builds 80 60 P1 00 with Le 00 and reads back', () => {
    const bytes = encodeCommandApdu(appletCommands.getCard(2));
    expect([...bytes]).toEqual([0x80, ins.getCard, 2, 0, 0]);
    expect(decodeCommandApdu(bytes)).toEqual(appletCommands.getCard(2));
  });

  it('round-trips any card, in one short APDU', () => {
    fc.assert(fc.property(arbCard, (c) => {
      const data = appletData.card.encode(c);
      expect(data.byteLength).toBeLessThanOrEqual(256);
      expect(appletData.card.decode(data)).toEqual(c);
    }), { seed: 3636, numRuns: 1000 });
  });

  it('refuses a malformed card with a coded error that does not echo the digits', () => {
    const good = appletData.card.encode(card);
    const letters = Buffer.from(good);
    letters[3] = 0x41; // 'A' inside the PAN
    for (const bad of [letters, good.subarray(0, good.byteLength - 1), Uint8Array.of(2, ...good.subarray(1))]) {
      let caught: unknown;
      try {
        appletData.card.decode(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AppletCodecError);
      expect((caught as Error).message).not.toMatch(/\d{6}/);
    }
    expect(() => appletData.card.encode({ ...card, pan: '42424242' })).toThrow(AppletCodecError);
  });

  it('decodes fuzzed bytes to a card or a coded refusal, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      try {
        CardData.parse(appletData.card.decode(Uint8Array.of(1, ...bytes)));
      } catch (err) {
        expect(err).toBeInstanceOf(AppletCodecError);
      }
    }), { seed: 36_000, numRuns: 2000 });
  });
});

describe('the simulated phone answers GET CARD', () => {
  it('hands over the card at the index asked for; 6A83 past the last one', async () => {
    const phone = await selectedPhone();
    expect(phone.cards.add(card)).toBe(0);
    phone.cards.add({ pan: '5555555555554444', expiry: '2911', cvv: '999' });
    const first = await send(phone, appletCommands.getCard());
    expect(first.sw).toBe(sw.ok);
    expect(appletData.card.decode(first.data)).toEqual(card);
    const second = await send(phone, appletCommands.getCard(1));
    expect(appletData.card.decode(second.data).pan).toBe('5555555555554444');
    expect((await send(phone, appletCommands.getCard(2))).sw).toBe(sw.recordNotFound);
  });

  it('refuses P2 other than 0 and a command with data', async () => {
    const phone = await selectedPhone();
    phone.cards.add(card);
    expect((await send(phone, { ...appletCommands.getCard(), p2: 1 })).sw).toBe(sw.incorrectP1P2);
    expect((await send(phone, { ...appletCommands.getCard(), data: Uint8Array.of(1) })).sw).toBe(sw.wrongLength);
  });

  it('holds at most cardsHeldMax cards, validates them, and shows them masked', async () => {
    const phone = await selectedPhone();
    for (let i = 0; i < appletDataLimits.cardsHeldMax; i += 1) phone.cards.add(card);
    expect(() => phone.cards.add(card)).toThrow(/at most/);
    expect(() => phone.cards.add({ ...card, expiry: '3013' })).toThrow(/YYMM/);
    expect(phone.cards.list()[0]).toEqual({ index: 0, masked: '•••• •••• •••• 4242', expiry: '3012' });
    expect(String(phone.cards)).not.toContain(visa);
    const { inspect } = await import('node:util');
    expect(inspect(phone.cards)).not.toContain(visa);
    expect(phone.cards.remove(0)).toBe(true);
    expect(phone.cards.count).toBe(appletDataLimits.cardsHeldMax - 1);
  });
});
