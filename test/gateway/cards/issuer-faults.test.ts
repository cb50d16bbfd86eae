/** When the issuer is down, silent, busy or talks nonsense: 91 or 96 decided by the gateway, never a guess; a resend gets a real decision later. */
import { afterEach, describe, expect, it } from 'vitest';
import { CardAuthorizationResult, IssuerClient } from '../../../gateway/cards/index.ts';
import { startIssuerHost } from '../../../settlement-core/cards/index.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { errorCodeOf } from '../http/harness.ts';
import { acquirerToken, cards, clock, pepper } from '../../settlement-core/cards/fixtures.ts';
import { cardBody, pay, startCardHarness, startFakeIssuer } from './harness.ts';
import type { CardHarness, FakeMode } from './harness.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function harness(o: Parameters<typeof startCardHarness>[0] = {}): Promise<{ h: CardHarness; w: TestWallet }> {
  const h = await startCardHarness(o);
  closers.push(() => h.close());
  return { h, w: h.station.wallets[0]! };
}

async function fake(mode: FakeMode) {
  const f = await startFakeIssuer(mode);
  closers.push(() => f.close());
  return f;
}

describe('issuer down or silent → 91, not final', () => {
  it('answers 91 when the issuer host is gone, then the real decision once it is back, for the same id', async () => {
    const { h, w } = await harness();
    const port = h.issuer.port;
    await h.issuer.close();
    const body = cardBody(cards.good, { minor: 400 });
    const down = CardAuthorizationResult.parse((await pay(h, w, body)).body);
    expect(down).toMatchObject({ responseCode: '91', source: 'gateway', approved: false, card: { token: null, last4: '4242' } });
    expect(h.processor.log.get(body.authorizationId)).toMatchObject({ responseCode: '91', final: false, attempts: 1 });
    // The issuer comes back on its port, with its database: the resend is decided for real.
    const back = await startIssuerHost({ dbPath: h.paths.issuerDb, pepper, acquirerToken, port, host: '127.0.0.1', clock });
    closers.push(() => back.close());
    const again = CardAuthorizationResult.parse((await pay(h, w, body)).body);
    expect(again).toMatchObject({ responseCode: '00', source: 'issuer', card: { token: h.tokens.get(cards.good) } });
    expect(h.processor.log.get(body.authorizationId)).toMatchObject({ responseCode: '00', final: true, attempts: 2 });
  });

  it('answers 91 when the issuer does not answer within timeoutMs', async () => {
    const f = await fake('hang');
    const { h, w } = await harness({ issuerUrl: f.url, clientLimits: { timeoutMs: 300 } });
    const result = CardAuthorizationResult.parse((await pay(h, w, cardBody(cards.good))).body);
    expect(result).toMatchObject({ responseCode: '91', source: 'gateway' });
  });

  it('answers 91 on a 503 and on a connection reset', async () => {
    for (const mode of ['http-503', 'reset'] as const) {
      const f = await fake(mode);
      const { h, w } = await harness({ issuerUrl: f.url });
      expect(CardAuthorizationResult.parse((await pay(h, w, cardBody(cards.good))).body).responseCode, mode).toBe('91');
    }
  });
});

describe('a garbled issuer answer → 96, not final', () => {
  it.each(['garbage', 'wrong-id', 'http-500', 'huge'] as const)('%s', async (mode) => {
    const f = await fake(mode);
    const { h, w } = await harness({ issuerUrl: f.url });
    const body = cardBody(cards.good);
    const r = await pay(h, w, body);
    expect(r.status).toBe(200);
    expect(CardAuthorizationResult.parse(r.body)).toMatchObject({ responseCode: '96', source: 'gateway', approved: false, approvalCode: null });
    expect(h.processor.log.get(body.authorizationId)).toMatchObject({ responseCode: '96', final: false });
  });

  it('answers 96 when the gateway and the issuer disagree on the acquirer token (a misconfiguration, not a card problem)', async () => {
    const { h, w } = await harness({ acquirerToken: 'wrong-token-wrong-token-wrong' });
    const body = cardBody(cards.good);
    expect(CardAuthorizationResult.parse((await pay(h, w, body)).body)).toMatchObject({ responseCode: '96', source: 'gateway' });
    expect(h.logs()).toContain('TS_ERR_CARD_ACQUIRER');
  });
});

describe('bounded concurrency', () => {
  it('holds at most concurrentMax requests at the issuer, queues waitingMax, and answers 503 TS_ERR_CARD_BUSY past that', async () => {
    const f = await fake('hang');
    const { h, w } = await harness({ issuerUrl: f.url, clientLimits: { concurrentMax: 2, waitingMax: 1, timeoutMs: 1500 } });
    const wallets = h.station.wallets;
    // Proof counters must rise per wallet in the order the core sees them: one request per wallet at a time.
    const inFlight = [pay(h, w, cardBody(cards.good)), pay(h, wallets[1]!, cardBody(cards.good))];
    await expect.poll(() => f.seen(), { timeout: 2000 }).toBe(2);
    const queued = pay(h, w, cardBody(cards.good));
    await expect.poll(() => h.processor.client.stats.waiting, { timeout: 2000 }).toBe(1);
    const refused = await pay(h, wallets[1]!, cardBody(cards.good));
    expect(refused.status).toBe(503);
    expect(errorCodeOf(refused)).toBe('TS_ERR_CARD_BUSY');
    expect(refused.headers.get('retry-after')).toBe('1');
    f.release();
    const answers = await Promise.all([...inFlight, queued]);
    for (const a of answers) expect(CardAuthorizationResult.parse(a.body).responseCode).toBe('91');
    expect(f.peak()).toBeLessThanOrEqual(2);
    expect(h.processor.client.stats).toEqual({ inFlight: 0, waiting: 0 });
  });
});

describe('the issuer client checks its options', () => {
  it('refuses a URL that is not http(s), an empty token and a limit below 1, naming which', () => {
    expect(() => new IssuerClient({ url: 'ftp://127.0.0.1/', acquirerToken: 't' })).toThrow(/issuer url/);
    expect(() => new IssuerClient({ url: 'not a url', acquirerToken: 't' })).toThrow(/issuer url/);
    expect(() => new IssuerClient({ url: 'http://127.0.0.1:1', acquirerToken: '' })).toThrow(/acquirerToken/);
    expect(() => new IssuerClient({ url: 'http://127.0.0.1:1', acquirerToken: 't', limits: { concurrentMax: 0 } })).toThrow(/concurrentMax/);
  });
});
