/**
 * A full PAN never reaches a log, a metric, an error message or a database
 * column (DESIGN §5). Every card case goes through the whole path with
 * trace-level logs kept; then every log line, every answer, /metrics and every
 * byte of every database file (with WAL and shared memory) is searched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardRedactPaths } from '../../../settlement-core/cards/index.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { badLuhn, capturingLogger, cardSetup, cards, codeCases, databaseBytes, panForms } from '../../settlement-core/cards/fixtures.ts';
import { cardBody, pay, startCardHarness } from './harness.ts';
import type { CardHarness } from './harness.ts';

let h: CardHarness;
let w: TestWallet;
const answers: string[] = [];
const allPans = [...new Set([...Object.values(cards), badLuhn, ...cardSetup.map((c) => c.pan)])];

beforeAll(async () => {
  h = await startCardHarness();
  w = h.station.wallets[0]!;
  for (const c of codeCases) answers.push((await pay(h, w, cardBody(c.pan, c.o))).text);
  const paid = cardBody(cards.pin, { pin: '2468', minor: 6_000 });
  answers.push((await pay(h, w, paid)).text, (await pay(h, w, paid)).text);
  answers.push((await pay(h, w, { ...paid, amount: { minor: 6_001, currency: 'EUR' } })).text);
  // Refusals that carry card data in the body: a bad field, an unknown key, a wrong proof.
  answers.push((await pay(h, w, JSON.stringify({ ...cardBody(cards.good), card: { pan: `${cards.good}0000`, expiry: '2712', cvv: '123' } }))).text);
  answers.push((await pay(h, w, JSON.stringify({ ...cardBody(cards.good), [cards.good]: cards.good }))).text);
  answers.push((await pay(h, w, cardBody(cards.good), { signAs: h.station.wallets[1]! })).text);
  answers.push(await (await fetch(`${h.base}/metrics`)).text());
});
afterAll(() => h.close());

function expectNoPan(where: string, text: string): void {
  for (const pan of allPans) for (const form of panForms(pan)) expect(text.includes(form), `${where} holds the digits of •••• ${pan.slice(-4)}`).toBe(false);
}

describe('no PAN anywhere', () => {
  it('not in the logs of the gateway, the card processing apparatus or the issuer host (trace level)', () => {
    const logs = h.logs();
    expect(logs).toContain('card authorization');
    expect(logs).toContain('"last4":"4242"');
    expectNoPan('the logs', logs);
    expect(logs).not.toMatch(/"(cvv|pin)":"\d/);
  });

  it('the redaction the card loggers use censors card fields a careless log line would carry', () => {
    const { logger, text } = capturingLogger();
    const child = logger.child({}, { redact: { paths: cardRedactPaths, censor: '[card data]' } });
    child.info({ pan: cards.good, card: { pan: cards.good, cvv: '123' }, body: { card: { pan: cards.good } }, req: { body: cards.good } }, 'careless');
    expect(text()).toContain('[card data]');
    expectNoPan('a redacted line', text());
  });

  it('not in any answer or error message, nor in /metrics', () => {
    expect(answers.length).toBeGreaterThan(codeCases.length);
    expect(answers.some((a) => a.includes('•••• •••• •••• 4242'))).toBe(true);
    for (const [i, text] of answers.entries()) expectNoPan(`answer ${i}`, text);
  });

  it('not in the issuer database, the card authorization log or the ledger (file, WAL, shared memory)', async () => {
    for (const path of Object.values(h.paths)) {
      const bytes = (await databaseBytes(path)).toString('latin1');
      expect(bytes.length, path).toBeGreaterThan(0);
      expectNoPan(path, bytes);
    }
  });
});
