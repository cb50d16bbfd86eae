/**
 * Claim 36 at a device, end to end: a phone holding a card on a virtual
 * PN532 → the purchase terminal (card mode) → MQTT → the gateway → the issuer
 * host over HTTP → the ledger. Approval (captured: merchant credited, card
 * receivable debited), every decline code on the display, the PIN, a
 * duplicate delivery, a forged result, and at the end: no card digits in any
 * log line, metric, database or device file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardResultTag, topics, uuidv7 } from '../../protocol/index.ts';
import type { CardAuthorizationRequest, DeviceCardResult } from '../../protocol/index.ts';
import { verifyCardResultTag } from '../../protocol/card-messages.ts';
import { deriveDeviceKey } from '../../protocol/crypto.ts';
import { badLuhn, cardData, cardSetup, cards, codeCases, databaseBytes, panForms } from '../settlement-core/cards/fixtures.ts';
import { eventually } from './harness.ts';
import { cardPosReady, merchantBalance, payByCard, rawDevice, receivableBalance, startCardPos, startCardStation } from './pos-card-fixtures.ts';
import type { CardPos, CardStation } from './pos-card-fixtures.ts';

let station: CardStation;
let pos: CardPos;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  station = await startCardStation();
  await station.addTerminal('pos-pin');
  await station.pushConfig('pos-1');
  await station.pushConfig('pos-pin');
  pos = await startCardPos(station);
  closers.push(() => pos.host.close());
  await cardPosReady(pos);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await station.close();
});

const openToBuy = (pan: string): number => station.issuer.store.getCard(station.tokens.get(pan)!)!.openToBuyMinor;

describe('card payment at the purchase terminal', () => {
  it('approved: the phone is asked, the issuer approves, the sale is captured (merchant credited, card receivable debited), APPROVED shown', async () => {
    const { phone, asked } = await station.phone('Ada', cardData(cards.good));
    const [merchant, receivable, otb] = [await merchantBalance(station), await receivableBalance(station), openToBuy(cards.good)];
    const shown = await payByCard(pos, phone, '*1250');
    expect(shown).toBe('APPROVED 12.50 EUR •••• •••• •••• 4242');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ kind: 'card-read', card: { masked: '•••• •••• •••• 4242' } });
    expect(await merchantBalance(station)).toBe(merchant + 1250);
    expect(await receivableBalance(station)).toBe(receivable - 1250);
    expect(openToBuy(cards.good)).toBe(otb - 1250);
    const sale = pos.program.lastSale!;
    expect(sale).toMatchObject({ status: 'approved', purchase: { amount: { minor: 1250, currency: 'EUR' } } });
    expect(station.gw.cards!.log.get(sale.requestId)).toMatchObject({ principal: 'device:pos-1', walletId: null, responseCode: '00', final: true, captureStatus: 'captured', merchant: station.merchant, last4: '4242' });
    await eventually('the request left the outbox', () => pos.host.link.outbox.depth === 0);
  });

  it('the phone\'s user says no: the card is not read, nothing is sent', async () => {
    const { phone, asked } = await station.phone('Ben', cardData(cards.good), { consents: false });
    const sent = station.gw.cardBridge.stats.authorizations;
    expect(await payByCard(pos, phone, '*300')).toBe('NOT PAID - card not read APPLET_CONDITIONS');
    expect(station.gw.cardBridge.stats.authorizations).toBe(sent);
    expect(asked).toHaveLength(1);
  });

  const declines = codeCases.filter((c) => c.code !== '00' && c.o?.pin === undefined && c.o?.mcc === undefined && c.o?.currency === undefined);
  it.each(declines)('declined $code ($why) reaches the terminal; nothing is captured', async ({ code, pan, o }) => {
    const { phone } = await station.phone('Cleo', cardData(pan, o?.card));
    const merchant = await merchantBalance(station);
    const shown = await payByCard(pos, phone, `*${o?.minor ?? 1250}`);
    expect(shown.startsWith(`DECLINED ${code} `), shown).toBe(true);
    expect(pos.program.lastSale).toMatchObject({ status: 'declined', detail: code });
    expect(await merchantBalance(station)).toBe(merchant);
    await eventually('the request left the outbox', () => pos.host.link.outbox.depth === 0);
  });

  it('declined 57: a merchant category the card is not for (the terminal sells 5999, the card is for groceries)', async () => {
    const { phone } = await station.phone('Dev', cardData(cards.grocery));
    expect(await payByCard(pos, phone, '*500')).toBe('DECLINED 57 transaction not permitted to cardholder');
  });

  it('the PIN: keyed at the terminal above pinAboveMinor; right → approved, wrong → 55', async () => {
    const pinPos = await startCardPos(station, { deviceId: 'pos-pin', pos: { card: { pinAboveMinor: 5_000 } } });
    closers.push(() => pinPos.host.close());
    await cardPosReady(pinPos);
    const { phone } = await station.phone('Eve', cardData(cards.pin));
    expect(await payByCard(pinPos, phone, '*6000', { pin: '1111' })).toBe('DECLINED 55 incorrect PIN');
    expect(await payByCard(pinPos, phone, '*6000', { pin: '2468' })).toBe('APPROVED 60.00 EUR •••• •••• •••• 4444');
    expect(await payByCard(pinPos, phone, '*100')).toBe('APPROVED 1.00 EUR •••• •••• •••• 4444');
  });
});

describe('the card channel from the gateway\'s side', () => {
  const body = (o: Partial<CardAuthorizationRequest> = {}): CardAuthorizationRequest => ({
    v: 1, type: 'card-authorization', requestId: uuidv7(), sentAt: Date.now(), deviceId: 'pos-raw',
    card: cardData(cards.good), amount: { minor: 700, currency: 'EUR' }, mcc: '5999', ...o,
  });

  it('a duplicate delivery (the same bytes twice, at once and again later): one authorization, one capture, the same answer bytes', async () => {
    await station.addTerminal('pos-raw');
    const raw = await rawDevice(station, 'pos-raw');
    closers.push(raw.close);
    const [merchant, otb] = [await merchantBalance(station), openToBuy(cards.good)];
    const request = body();
    const bytes = JSON.stringify(request);
    await Promise.all([raw.client.publishAsync(topics.card('pos-raw'), bytes, { qos: 1 }), raw.client.publishAsync(topics.card('pos-raw'), bytes, { qos: 1 })]);
    await eventually('two answers', () => raw.received.length === 2);
    await raw.client.publishAsync(topics.card('pos-raw'), bytes, { qos: 1 });
    await eventually('three answers', () => raw.received.length === 3);
    const [a, b, c] = raw.received.map((p) => p.toString('utf8'));
    expect(b).toBe(a);
    expect(c).toBe(a);
    const result = JSON.parse(a!) as DeviceCardResult;
    expect(result).toMatchObject({ type: 'card-result', requestId: request.requestId, responseCode: '00', approved: true, amount: { minor: 700 } });
    expect(verifyCardResultTag(deviceKeyOf('pos-raw'), result)).toBe(true);
    expect(await merchantBalance(station)).toBe(merchant + 700);
    expect(openToBuy(cards.good)).toBe(otb - 700);
    expect(station.issuer.store.authorizationsOf(station.tokens.get(cards.good)!).filter((x) => x.authorizationId === request.requestId)).toHaveLength(1);
    // The same requestId with other content is refused, coded, and changes nothing.
    await raw.client.publishAsync(topics.card('pos-raw'), JSON.stringify({ ...request, amount: { minor: 701, currency: 'EUR' } }), { qos: 1 });
    await eventually('a fourth answer', () => raw.received.length === 4);
    expect(JSON.parse(raw.received[3]!.toString('utf8'))).toMatchObject({ type: 'card-error', requestId: request.requestId, code: 'TS_ERR_CARD_DUPLICATE_MISMATCH' });
    expect(await merchantBalance(station)).toBe(merchant + 700);
  });

  it('the merchant is the device\'s own, never one in the body: a body naming one is refused', async () => {
    const raw = await rawDevice(station, 'pos-raw');
    closers.push(raw.close);
    const request = { ...body(), merchant: '500-0000099' };
    await raw.client.publishAsync(topics.card('pos-raw'), JSON.stringify(request), { qos: 1 });
    await eventually('an answer', () => raw.received.length === 1);
    expect(JSON.parse(raw.received[0]!.toString('utf8'))).toMatchObject({ type: 'card-error', requestId: request.requestId, code: 'TS_ERR_INVALID_BODY' });
  });

  it('a forged card-result on the terminal\'s topic (no valid tag) is dropped: the terminal shows the real answer', async () => {
    station.proxy.answerDelayMs = 600;
    try {
      const { phone } = await station.phone('Ada', cardData(cards.poor));
      const rejected = pos.host.link.stats.rejected['bad-tag'];
      pos.key('*1001');
      pos.key('+');
      await eventually('terminal asks for a phone', () => pos.program.machine.state === 'waiting-tap');
      pos.sim.chip!.field.place(phone);
      await eventually('terminal waits for the card answer', () => pos.program.machine.state === 'settling');
      const requestId = pos.host.link.outbox.pending().find((e) => e.kind === 'card')!.id;
      const forged = {
        v: 1, type: 'card-result', requestId, sentAt: Date.now(), deviceId: 'pos-1', responseCode: '00', responseText: 'approved', approved: true, approvalCode: 'FAKE01',
        card: { last4: cards.poor.slice(-4), masked: '•••• •••• •••• 0009' }, amount: { minor: 1001, currency: 'EUR' }, source: 'issuer',
      } as const;
      await station.gw.broker.publish(topics['card-result']('pos-1'), JSON.stringify({ ...forged, tag: cardResultTag(Buffer.alloc(32, 1), forged) }), { qos: 1, retain: false });
      await eventually('terminal shows a result', () => pos.program.machine.state === 'showing', 10_000);
      expect(pos.shown.at(-1)).toBe('DECLINED 51 insufficient funds');
      expect(pos.host.link.stats.rejected['bad-tag']).toBe(rejected + 1);
      await eventually('terminal back at idle', () => pos.program.machine.state === 'idle');
      pos.sim.chip!.field.remove(phone);
    } finally {
      station.proxy.answerDelayMs = 0;
    }
  });
});

function deviceKeyOf(id: string): Buffer {
  return station.gw.registry.deviceKey(id) ?? deriveDeviceKey(Buffer.alloc(32), id);
}

/** Every file under `dir`, recursively (database files with their WAL and shared memory, outbox logs, configs). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('no card number anywhere (runs last)', () => {
  const allPans = [...new Set([...Object.values(cards), badLuhn, ...cardSetup.map((c) => c.pan)])];
  const expectNoPan = (where: string, text: string): void => {
    for (const pan of allPans) for (const form of panForms(pan)) expect(text.includes(form), `${where} holds the digits of •••• ${pan.slice(-4)}`).toBe(false);
  };

  it('not in any log line of the gateway, the issuer or the terminals (trace level)', () => {
    const logs = station.logs();
    expect(logs).toContain('card authorization');
    expect(logs).toContain('"last4":"4242"');
    expectNoPan('the logs', logs);
    expect(logs).not.toMatch(/"(cvv|pin)":"\d/);
  });

  it('not in /metrics nor in the terminal\'s health', async () => {
    expectNoPan('/metrics', await (await fetch(`${station.gw.urls.http}/metrics`)).text());
    expectNoPan('/healthz', JSON.stringify(pos.host.health()));
    expectNoPan('the display', pos.shown.join('\n'));
  });

  it('not in any file of the gateway, the issuer or the terminals (databases with WAL and shared memory, outbox logs, configs)', async () => {
    const files = filesUnder(station.dir);
    expect(files.some((f) => f.endsWith('outbox.log'))).toBe(true);
    expect(files.some((f) => f.endsWith('card-authorizations.db'))).toBe(true);
    for (const file of files) {
      const bytes = file.endsWith('.db') ? (await databaseBytes(file)).toString('latin1') : readFileSync(file).toString('latin1');
      expectNoPan(file, bytes);
    }
  });
});
