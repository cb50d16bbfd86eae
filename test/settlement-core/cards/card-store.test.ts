/** The issuer's card table and its decisions: every response code, idempotency, durability, the wrong-verification limit, no card data at rest. */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../protocol/index.ts';
import { AuthorizationResponse, CardError, CardStore } from '../../../settlement-core/cards/index.ts';
import type { AuthorizeOutcome } from '../../../settlement-core/cards/index.ts';
import { addCards, authRequest, cardSetup, cards, clock, codeCases, databaseBytes, now, panForms, pepper, tempDir } from './fixtures.ts';

let t: { dir: string; cleanup: () => void };
let store: CardStore;
let tokens: Map<string, string>;
const path = (): string => `${t.dir}/issuer.db`;

beforeEach(() => {
  t = tempDir();
  store = new CardStore({ path: path(), pepper, clock });
  tokens = addCards(store);
});
afterEach(() => {
  store.close();
  t.cleanup();
});

function answer(o: AuthorizeOutcome): AuthorizationResponse {
  if (o.kind !== 'answer') throw new Error('expected an answer, got a mismatch');
  return AuthorizationResponse.parse(JSON.parse(o.json));
}

describe('decisions', () => {
  it.each(codeCases)('answers $code for $why', ({ code, pan, o }) => {
    const r = answer(store.authorize(authRequest(pan, o)));
    expect(r.responseCode).toBe(code);
    expect(r.approved).toBe(code === '00');
    expect(r.approvalCode === null).toBe(code !== '00');
    expect(r.last4).toBe(pan.slice(-4));
    expect(r.cardToken).toBe(tokens.get(pan) ?? null);
    expect(r.decidedAt).toBe(now);
  });

  it('approves with the right PIN above the threshold, and without one below it', () => {
    expect(answer(store.authorize(authRequest(cards.pin, { pin: '2468', minor: 6_000 }))).responseCode).toBe('00');
    expect(answer(store.authorize(authRequest(cards.pin, { minor: 4_999 }))).responseCode).toBe('00');
  });

  it('an approval takes the amount off open-to-buy; a decline takes nothing', () => {
    const token = tokens.get(cards.poor)!;
    expect(answer(store.authorize(authRequest(cards.poor, { minor: 400 }))).responseCode).toBe('00');
    expect(store.getCard(token)!.openToBuyMinor).toBe(600);
    expect(answer(store.authorize(authRequest(cards.poor, { minor: 601 }))).responseCode).toBe('51');
    expect(store.getCard(token)!.openToBuyMinor).toBe(600);
    expect(answer(store.authorize(authRequest(cards.poor, { minor: 600 }))).responseCode).toBe('00');
    expect(store.getCard(token)!.openToBuyMinor).toBe(0);
  });

  it('a wrong expiry date is a wrong verification (05)', () => {
    expect(answer(store.authorize(authRequest(cards.good, { card: { expiry: '2812' } }))).responseCode).toBe('05');
    expect(store.getCard(tokens.get(cards.good)!)!.badTries).toBe(1);
  });

  it('restricts the card after verificationTriesMax wrong CVVs or PINs in a row; then even the right ones get 62', () => {
    const token = tokens.get(cards.pin)!;
    expect(answer(store.authorize(authRequest(cards.pin, { card: { cvv: '000' } }))).responseCode).toBe('05');
    expect(answer(store.authorize(authRequest(cards.pin, { pin: '0000' }))).responseCode).toBe('55');
    expect(store.getCard(token)!.badTries).toBe(2);
    expect(answer(store.authorize(authRequest(cards.pin, { card: { cvv: '001' } }))).responseCode).toBe('05');
    expect(store.getCard(token)!.status).toBe('restricted');
    expect(answer(store.authorize(authRequest(cards.pin, { pin: '2468' }))).responseCode).toBe('62');
    store.setStatus(token, 'active');
    expect(store.getCard(token)!.badTries).toBe(0);
    expect(answer(store.authorize(authRequest(cards.pin, { pin: '2468' }))).responseCode).toBe('00');
  });

  it('a good verification clears the count of wrong ones', () => {
    const token = tokens.get(cards.good)!;
    store.authorize(authRequest(cards.good, { card: { cvv: '000' } }));
    store.authorize(authRequest(cards.good, { card: { cvv: '000' } }));
    expect(answer(store.authorize(authRequest(cards.good))).responseCode).toBe('00');
    expect(store.getCard(token)!.badTries).toBe(0);
  });
});

describe('idempotency by authorization id', () => {
  it('a resend gets the stored answer byte for byte and takes open-to-buy once', () => {
    const req = authRequest(cards.good, { minor: 700 });
    const first = store.authorize(req);
    const again = store.authorize(structuredClone(req));
    expect(first.kind === 'answer' && again.kind === 'answer' && again.replay).toBe(true);
    expect(again.kind === 'answer' && first.kind === 'answer' && again.json === first.json).toBe(true);
    expect(store.getCard(tokens.get(cards.good)!)!.openToBuyMinor).toBe(100_000 - 700);
  });

  it('the same id with any other content is refused, and the stored decision is untouched', () => {
    const req = authRequest(cards.good, { minor: 700 });
    const first = store.authorize(req);
    for (const other of [
      { ...req, amount: { ...req.amount, minor: 701 } },
      { ...req, card: { ...req.card, cvv: '124' } },
      { ...req, pin: '1234' },
      { ...req, mcc: '5411' },
      { ...req, card: { ...req.card, pan: cards.poor } },
    ]) expect(store.authorize(other)).toEqual({ kind: 'mismatch' });
    const again = store.authorize(req);
    expect(again.kind === 'answer' && first.kind === 'answer' && again.json === first.json).toBe(true);
  });

  it('answers survive a restart (durable before answered)', () => {
    const req = authRequest(cards.good, { minor: 900 });
    const first = store.authorize(req);
    store.close();
    store = new CardStore({ path: path(), pepper, clock: () => now + 60_000 });
    const again = store.authorize(req);
    expect(again.kind === 'answer' && first.kind === 'answer' && again.json === first.json).toBe(true);
    expect(store.getCard(tokens.get(cards.good)!)!.openToBuyMinor).toBe(100_000 - 900);
  });
});

describe('the card table', () => {
  it('is a WAL database of its own', () => {
    const db = new Database(path(), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('refuses to open with another pepper', () => {
    store.close();
    expect(() => new CardStore({ path: path(), pepper: Buffer.alloc(32, 1) })).toThrow(expect.objectContaining({ code: 'TS_ERR_CARD_PEPPER' }));
    expect(() => new CardStore({ path: path(), pepper: Buffer.alloc(16, 1) })).toThrow(expect.objectContaining({ code: 'TS_ERR_CARD_INVALID_ARGUMENT' }));
  });

  it('refuses a number failing Luhn, a PIN threshold without a PIN, a second card with one number — without quoting the number', () => {
    const refusal = (fn: () => unknown): CardError => {
      try {
        fn();
      } catch (err) {
        if (err instanceof CardError) return err;
        throw err;
      }
      throw new Error('expected a CardError');
    };
    const luhn = refusal(() => store.addCard({ ...cardSetup[0]!, pan: '4242424242424241' }));
    expect(luhn.code).toBe('TS_ERR_CARD_INVALID_ARGUMENT');
    expect(luhn.message).not.toContain('424242');
    expect(refusal(() => store.addCard({ ...cardSetup[0]!, pan: '4111111111111111', pinAboveMinor: 100 })).message).toMatch(/pinAboveMinor/);
    const dup = refusal(() => store.addCard({ ...cardSetup[0]! }));
    expect(dup.code).toBe('TS_ERR_CARD_EXISTS');
    expect(dup.message).toContain('•••• •••• •••• 4242');
    expect(dup.message).not.toMatch(/\d{5}/);
    expect(refusal(() => store.setStatus('ct_nope', 'blocked')).code).toBe('TS_ERR_CARD_UNKNOWN');
  });

  it('lists cards masked, with what the operator needs and nothing secret', () => {
    const list = store.listCards();
    expect(list).toHaveLength(cardSetup.length);
    const good = list.find((c) => c.last4 === cards.good.slice(-4))!;
    expect(good).toMatchObject({ masked: '•••• •••• •••• 4242', expiry: '2712', status: 'active', hasPin: false, authLimitMinor: 50_000 });
    const text = JSON.stringify(list);
    for (const c of cardSetup) for (const form of panForms(c.pan)) expect(text).not.toContain(form);
  });

  it('keeps no PAN, CVV or PIN in the database file, its WAL or its shared memory', async () => {
    for (const c of codeCases) store.authorize(authRequest(c.pan, c.o));
    store.authorize({ ...authRequest(cards.pin, { pin: '2468' }), authorizationId: uuidv7(now) });
    const bytes = (await databaseBytes(path())).toString('latin1');
    expect(bytes.length).toBeGreaterThan(0);
    for (const pan of [...Object.values(cards), ...cardSetup.map((c) => c.pan)]) for (const form of panForms(pan)) expect(bytes.includes(form), form.slice(-4)).toBe(false);
    store.close();
    const after = (await databaseBytes(path())).toString('latin1');
    for (const pan of Object.values(cards)) expect(after.includes(pan.slice(0, -4))).toBe(false);
  });
});
