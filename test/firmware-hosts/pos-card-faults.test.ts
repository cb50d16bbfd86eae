/**
 * Claim 36 at a device when things go wrong, end to end (phone on a virtual
 * PN532 → terminal → MQTT → gateway → issuer host over HTTP → ledger): the
 * issuer down (91, then the reversal of that id), an answer that comes after
 * the terminal gave up or after the customer cancelled, a terminal that dies
 * with a card request pending (the restart reverses the captured sale: the
 * ledger and open-to-buy restored once), and fuzzed card payloads on the MQTT
 * channel (coded errors, the gateway stays up).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardErrorCodes, topics, uuidv7, verifyCardErrorTag } from '../../protocol/index.ts';
import type { CardErrorNotice } from '../../protocol/index.ts';
import { cardData, cards, panForms } from '../settlement-core/cards/fixtures.ts';
import { eventually } from './harness.ts';
import { cardPosReady, merchantBalance, payByCard, rawDevice, receivableBalance, startCardPos, startCardStation } from './pos-card-fixtures.ts';
import type { CardPos, CardStation } from './pos-card-fixtures.ts';

let station: CardStation;
let pos: CardPos;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  station = await startCardStation();
  await station.pushConfig('pos-1');
  pos = await startCardPos(station, { pos: { card: { timeoutMs: 1_000 } } });
  closers.push(() => pos.host.close());
  await cardPosReady(pos);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await station.close();
});

const openToBuy = (pan: string): number => station.issuer.store.getCard(station.tokens.get(pan)!)!.openToBuyMinor;
const reversal = (id: string) => station.gw.cards!.log.reversals.get(id);

/** The money and the card's hold, to compare before and after. */
async function books(pan: string): Promise<{ merchant: number; receivable: number; openToBuy: number }> {
  return { merchant: await merchantBalance(station), receivable: await receivableBalance(station), openToBuy: openToBuy(pan) };
}

describe('the issuer down', () => {
  it('91 reaches the terminal; the terminal reverses that id; once the issuer is back the reversal reaches it, and the original, arriving late, takes nothing', async () => {
    const before = await books(cards.good);
    await station.stopIssuer();
    const { phone } = await station.phone('Ada', cardData(cards.good));
    expect(await payByCard(pos, phone, '*450')).toBe('DECLINED 91 issuer unavailable');
    const id = pos.program.lastSale!.requestId;
    expect(station.gw.cards!.log.get(id)).toMatchObject({ responseCode: '91', source: 'gateway', final: false });
    // The terminal's reversal is recorded and acknowledged (pending: the issuer part waits for the issuer).
    await eventually('the reversal acknowledged', () => pos.host.link.outbox.depth === 0);
    expect(reversal(id)).toMatchObject({ reason: 'timeout', requestedBy: 'principal', state: 'pending', ledgerStatus: 'not-captured', issuerStatus: null });
    await station.restartIssuer();
    await eventually('the reversal done at the issuer', () => reversal(id)?.state === 'done', 5_000);
    expect(reversal(id)).toMatchObject({ issuerStatus: 'unknown-authorization' });
    // The original request reaching the issuer only now (held in some queue) is declined: nothing is held on the card.
    const late = station.issuer.store.authorize({ v: 1, authorizationId: id, card: cardData(cards.good), amount: { minor: 450, currency: 'EUR' }, merchant: station.merchant, mcc: '5999' });
    expect(late.kind === 'answer' && late.response.responseCode).toBe('05');
    expect(await books(cards.good)).toEqual(before);
  });
});

describe('the terminal gives up, or the customer cancels, while the issuer approves', () => {
  it('no answer in time: NOT PAID, reversed; the approval that comes later is not captured and the hold goes back once', async () => {
    const before = await books(cards.good);
    const reversalsBefore = pos.program.report().cardReversals;
    station.proxy.answerDelayMs = 1_500;
    try {
      const { phone } = await station.phone('Ben', cardData(cards.good));
      expect(await payByCard(pos, phone, '*320')).toBe('NOT PAID - no answer, try again');
    } finally {
      station.proxy.answerDelayMs = 0;
    }
    const id = pos.program.lastSale!.requestId;
    await eventually('the gateway answered the late approval', () => station.gw.cards!.log.get(id)?.final === true, 5_000);
    expect(station.gw.cards!.log.get(id)).toMatchObject({ responseCode: '96', source: 'gateway', captureStatus: 'refused', captureReason: 'already-reversed' });
    await eventually('the reversal done', () => reversal(id)?.state === 'done' && reversal(id)?.issuerStatus === 'reversed', 5_000);
    expect(reversal(id)).toMatchObject({ reason: 'timeout', ledgerStatus: 'not-captured' });
    expect(await books(cards.good)).toEqual(before);
    expect(pos.program.report().cardReversals).toBe(Number(reversalsBefore) + 1);
  });

  it('the customer cancels while the terminal waits: CANCELLED, reversed, nothing taken', async () => {
    const before = await books(cards.good);
    station.proxy.answerDelayMs = 800;
    try {
      const { phone } = await station.phone('Cleo', cardData(cards.good));
      pos.key('*330');
      pos.key('+');
      await eventually('terminal asks for a phone', () => pos.program.machine.state === 'waiting-tap');
      pos.sim.chip!.field.place(phone);
      await eventually('terminal waits for the card answer', () => pos.program.machine.state === 'settling');
      pos.key('-');
      await eventually('terminal shows a result', () => pos.program.machine.state === 'showing');
      expect(pos.shown.at(-1)).toBe('CANCELLED - card reversed');
      await eventually('terminal back at idle', () => pos.program.machine.state === 'idle');
      pos.sim.chip!.field.remove(phone);
    } finally {
      station.proxy.answerDelayMs = 0;
    }
    const id = pos.program.lastSale!.requestId;
    await eventually('the reversal done', () => reversal(id)?.state === 'done' && station.gw.cards!.log.get(id)?.final === true, 5_000);
    expect(reversal(id)).toMatchObject({ reason: 'cancelled', requestedBy: 'principal' });
    expect(await books(cards.good)).toEqual(before);
  });
});

describe('a terminal that dies with a card request pending', () => {
  it('the request survives on disk (sealed); after the restart it is reversed, not sent again: the captured sale goes back once', async () => {
    const victim = await startCardPos(station, { pos: { card: { timeoutMs: 5_000 } } });
    await pos.host.close();
    process.stderr.write(`T3 ${Date.now() % 100000}\n`);
    closers.splice(closers.indexOf(closers[0]!), 1);
    await cardPosReady(victim);
    process.stderr.write(`T5 ${Date.now() % 100000}\n`);
    const before = await books(cards.good);
    station.proxy.answerDelayMs = 500;
    const { phone } = await station.phone('Dev', cardData(cards.good));
    victim.key('*610');
    victim.key('+');
    await eventually('terminal asks for a phone', () => victim.program.machine.state === 'waiting-tap');
    process.stderr.write(`T11 ${Date.now() % 100000}\n`);
    victim.sim.chip!.field.place(phone);
    await eventually('the card request is pending', () => victim.host.link.outbox.pending().some((e) => e.kind === 'card'));
    process.stderr.write(`T13 ${Date.now() % 100000}\n`);
    const id = victim.host.link.outbox.pending().find((e) => e.kind === 'card')!.id;
    await eventually('the gateway has it', () => station.gw.cards!.log.get(id) !== null);
    process.stderr.write(`T15 ${Date.now() % 100000}\n`);
    // A crash: the link dies first (no answer can reach the terminal), then the rest.
    await victim.host.link.abort();
    process.stderr.write(`T17 ${Date.now() % 100000}\n`);
    await victim.host.abort();
    process.stderr.write(`T18 ${Date.now() % 100000}\n`);
    station.proxy.answerDelayMs = 0;
    await eventually('captured while the terminal was gone', () => station.gw.cards!.log.get(id)?.captureStatus === 'captured', 5_000);
    process.stderr.write(`T20 ${Date.now() % 100000}\n`);
    expect(await merchantBalance(station)).toBe(before.merchant + 610);
    const outbox = readFileSync(join(victim.dataDir, 'outbox.log'), 'latin1');
    expect(outbox).toContain(id);
    for (const form of panForms(cards.good)) expect(outbox.includes(form)).toBe(false);

    pos = await startCardPos(station, { dataDir: victim.dataDir, pos: { card: { timeoutMs: 1_000 } } });
    closers.unshift(() => pos.host.close());
    await cardPosReady(pos);
    process.stderr.write(`T28 ${Date.now() % 100000}\n`);
    await eventually('the reversal done', () => reversal(id)?.state === 'done', 5_000);
    process.stderr.write(`T29 ${Date.now() % 100000}\n`);
    expect(reversal(id)).toMatchObject({ reason: 'not-delivered', ledgerStatus: 'reversed', issuerStatus: 'reversed' });
    expect(await books(cards.good)).toEqual(before);
    await eventually('the outbox drained', () => pos.host.link.outbox.depth === 0);
    process.stderr.write(`T32 ${Date.now() % 100000}\n`);
    expect(station.issuer.store.authorizationsOf(station.tokens.get(cards.good)!).filter((a) => a.authorizationId === id)).toHaveLength(1);
    expect(station.gw.cards!.log.get(id)!.attempts).toBe(1);

    // The same reversal again (a redelivery) gets the same answer and moves nothing twice.
    const raw = await rawDevice(station, 'pos-1');
    try {
      const again = { v: 1, type: 'card-reversal', requestId: uuidv7(), sentAt: Date.now(), deviceId: 'pos-1', authorizationId: id, reason: 'not-delivered' };
      await raw.client.publishAsync(topics.card('pos-1'), JSON.stringify(again), { qos: 1 });
      await raw.client.publishAsync(topics.card('pos-1'), JSON.stringify(again), { qos: 1 });
      await eventually('two acks', () => raw.received.length === 2);
      expect(raw.received[1]!.toString()).toBe(raw.received[0]!.toString());
      expect(JSON.parse(raw.received[0]!.toString())).toMatchObject({ type: 'card-reversal-ack', authorizationId: id, status: 'reversed' });
      expect(await books(cards.good)).toEqual(before);
    } finally {
      await raw.close();
    }
  });
});

describe('fuzzed card payloads on the MQTT channel', () => {
  it('each gets a coded, tagged error (or a decision), nothing else; the gateway stays up and still decides', async () => {
    await station.addTerminal('pos-fuzz');
    const raw = await rawDevice(station, 'pos-fuzz');
    closers.push(raw.close);
    const key = station.gw.registry.deviceKey('pos-fuzz')!;
    const known: ReadonlySet<string> = new Set(cardErrorCodes);
    const genuine: Record<string, unknown> = {
      v: 1, type: 'card-authorization', requestId: uuidv7(), sentAt: Date.now(), deviceId: 'pos-fuzz', card: cardData(cards.blocked), amount: { minor: 100, currency: 'EUR' }, mcc: '5999',
    };
    const payload = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.tuple(fc.constantFrom(...Object.keys(genuine), 'merchant', 'extra'), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ ...genuine, requestId: uuidv7(), [k]: v })),
      fc.constantFrom('', '{', 'null', '[]', '{"__proto__":{"approved":true}}', `{"type":"card-authorization","card":{"pan":"${cards.good}"}}`),
    ).filter((p) => Buffer.byteLength(p) <= 4096);
    let answers = 0;
    await fc.assert(fc.asyncProperty(payload, async (p) => {
      await raw.client.publishAsync(topics.card('pos-fuzz'), p, { qos: 1 });
      answers += 1;
      await eventually('an answer', () => raw.received.length >= answers);
      const answer = JSON.parse(raw.received[answers - 1]!.toString('utf8')) as { type: string };
      if (answer.type === 'card-error') {
        const notice = answer as CardErrorNotice;
        expect(known.has(notice.code)).toBe(true);
        expect(verifyCardErrorTag(key, notice)).toBe(true);
        for (const form of panForms(cards.good)) expect(notice.detail.includes(form)).toBe(false);
      } else expect(['card-result', 'card-reversal-ack']).toContain(answer.type);
    }), { numRuns: 80, seed: 7_036 });
    expect(raw.client.connected).toBe(true);
    const { phone } = await station.phone('Eve', cardData(cards.good));
    expect(await payByCard(pos, phone, '*120')).toBe('APPROVED 1.20 EUR •••• •••• •••• 4242');
  });
});
