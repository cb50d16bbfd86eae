/**
 * The ticket kiosk end to end (issue 5, claims 15–16): a real gateway and core
 * with a ticket issuer, the kiosk host on simulated parts (the real PN532
 * driver against the virtual chip, a simulated keypad), simulated phones.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, resultTag, signEd25519, ticketBytes, topics, uuidv7, verifyEd25519 } from '../../../protocol/index.ts';
import type { Ticket } from '../../../protocol/index.ts';
import { eventually, ready } from '../harness.ts';
import { catalog, idleAgain, issuerKeys, kioskId, publishedSettles, pullWhenSettling, startKiosk, startKioskStation, tap, ticketsOnPhone, walletApiTickets } from './kiosk-fixtures.ts';
import type { KioskHost } from './kiosk-fixtures.ts';

let station: Awaited<ReturnType<typeof startKioskStation>>;
let h: KioskHost;
let settles: Map<string, string>;

beforeAll(async () => {
  station = await startKioskStation();
  h = await startKiosk(station);
  settles = publishedSettles(h);
});
afterAll(async () => {
  await h?.host.close();
  await station?.close();
});

const verifies = (t: Ticket) => verifyEd25519(station.issuer.publicKey, ticketBytes(t), t.sig);
const entryOf = (requestId: string) => station.gw.core.store.getJournalEntry({ deviceId: kioskId, requestId });
const lastSettleId = () => [...settles.keys()].at(-1)!;

describe('ticket kiosk', () => {
  it('claims 15–16: chosen on the keypad, paid by tap, the issuer-signed ticket is written to the phone and the sale is confirmed', async () => {
    const before = await station.balance('Ada');
    const phone = await station.phone('Ada');
    expect(h.sim.keypad!.scan('T2')).toBe(true);
    await eventually('single ride chosen', () => h.program.machine.state === 'awaiting-tap');
    expect(h.sim.display.text).toContain('Single ride 2.50 EUR');
    tap(h, phone);
    await eventually('ticket delivered and acknowledged', () => h.program.counts.outcomesAcked === 1);
    await idleAgain(h);
    expect(h.program.counts.delivered).toBe(1);
    expect(h.sim.display.text).toContain('the ticket is on your phone');

    expect(await station.balance('Ada')).toBe(before - 250);
    const entry = await entryOf(lastSettleId());
    expect(entry?.outcome).toBe('ticket-delivered');
    expect(entry?.state).toBe('deposited');

    const held = phone.holdings.tickets();
    expect(held).toHaveLength(1);
    const t = held[0]!;
    expect(t).toMatchObject({ product: 'single-ride', uses: 1, walletId: station.demo.wallets.find((w) => w.name === 'Ada')!.walletId, keyId: station.issuer.keyId });
    expect(t.validUntil - t.validFrom).toBe(5_400_000);
    expect(verifies(t)).toBe(true);
    phone.remove();
    h.sim.chip!.field.remove(phone);
    expect(await ticketsOnPhone(phone)).toEqual([t]);
    // The same ticket is what the wallet API lists.
    expect((await walletApiTickets(station, 'Ada')).map((x) => x.ticketId)).toContain(t.ticketId);
  });

  it('a ticket chosen through the station (choose) is sold the same way; a code that is not a ticket is refused', async () => {
    expect(h.program.choose('coffee')).toEqual({ ok: false, why: 'unknown-product' });
    expect(h.program.choose('nothing')).toEqual({ ok: false, why: 'unknown-product' });
    expect(h.program.machine.state).toBe('idle');
    const before = await station.balance('Ben');
    const phone = await station.phone('Ben');
    const chosen = h.program.choose('day-pass');
    expect(chosen.ok && chosen.product.article).toBe('day-pass');
    expect(h.program.choose('T2')).toMatchObject({ ok: true });
    expect(h.program.choose(' T1 ')).toMatchObject({ ok: true }); // the last choice counts
    tap(h, phone);
    await eventually('day pass delivered', () => h.program.counts.delivered === 2);
    await idleAgain(h);
    expect(await station.balance('Ben')).toBe(before - 700);
    expect(phone.holdings.tickets().map((t) => [t.product, t.uses])).toEqual([['day-pass', 10]]);
    h.sim.chip!.field.remove(phone);
  });

  it('the phone leaves before the write: outcome ticket-retrievable, the display says so, the wallet API lists the ticket', async () => {
    const before = await station.balance('Cleo');
    const phone = await station.phone('Cleo');
    const pulled = pullWhenSettling(h, phone);
    expect(h.program.choose('T2').ok).toBe(true);
    tap(h, phone);
    await pulled;
    await eventually('ticket retrievable', () => h.program.counts.retrievable === 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('Phone removed: your ticket is in your wallet app.');
    expect(phone.holdings.tickets()).toEqual([]);
    expect(await station.balance('Cleo')).toBe(before - 250);
    const id = lastSettleId();
    await eventually('outcome applied', async () => (await entryOf(id))?.outcome === 'ticket-retrievable');
    expect((await entryOf(id))?.state).toBe('deposited');
    const listed = await walletApiTickets(station, 'Cleo');
    expect(listed).toHaveLength(1);
    expect(listed[0]!.product).toBe('single-ride');
    expect(verifies(listed[0]!)).toBe(true);
  });

  it('declined (Eve, no funds): the reason is shown, nothing is written, no outcome; a forged approval on the result topic is not acted on', async () => {
    const phone = await station.phone('Eve');
    const eve = station.demo.wallets.find((w) => w.name === 'Eve')!;
    const outcomesBefore = h.program.counts.outcomesAcked;
    const rejectedBefore = h.host.link.stats.rejected['bad-tag'];
    // A rogue publisher answers the request first: approved, with a ticket genuinely signed by the issuer, tagged under a key that is not the device's.
    const onPublished = (p: { id: string; body: string }) => {
      h.host.link.off('published', onPublished);
      const unsigned = { ticketId: uuidv7(), walletId: eve.walletId, product: 'single-ride', validFrom: Date.now(), validUntil: Date.now() + 5_400_000, uses: 1, keyId: station.issuer.keyId };
      const ticket = { ...unsigned, sig: signEd25519(station.issuer, ticketBytes(unsigned)) };
      const forged = { v: 1, type: 'result', requestId: p.id, sentAt: Date.now(), deviceId: kioskId, status: 'approved', amount: { minor: 250, currency: 'EUR' } } as const;
      void station.gw.broker.publish(topics.result(kioskId), JSON.stringify({ ...forged, ticket, tag: resultTag(randomBytes(32), forged) }), { qos: 1, retain: false });
    };
    h.host.link.on('published', onPublished);
    expect(h.program.choose('T2').ok).toBe(true);
    tap(h, phone);
    await eventually('declined', () => h.program.counts.declined === 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('Declined: insufficient-funds');
    await eventually('forged answer dropped', () => h.host.link.stats.rejected['bad-tag'] > rejectedBefore);
    expect(phone.holdings.tickets()).toEqual([]);
    expect(await station.balance('Eve')).toBe(0);
    expect(await walletApiTickets(station, 'Eve')).toEqual([]);
    expect((await entryOf(lastSettleId()))?.state).toBe('declined');
    expect(h.program.counts.outcomesAcked).toBe(outcomesBefore);
    h.sim.chip!.field.remove(phone);
  });

  it('a result delivered twice gives one ticket and one outcome', async () => {
    const id = [...settles.keys()][0]!; // Ada's sale of the first test
    const replay = await station.gw.core.settle(kioskId, settles.get(id)!);
    if (replay.kind !== 'result') throw new Error('expected a result');
    expect(replay.replay).toBe(true);
    const duplicatesBefore = h.host.link.stats.duplicates;
    const counts = { ...h.program.counts };
    for (let i = 0; i < 2; i += 1) await station.gw.broker.publish(topics.result(kioskId), replay.json, { qos: 1, retain: false });
    await eventually('both copies seen', () => h.host.link.stats.duplicates === duplicatesBefore + 2);
    expect(h.program.counts).toEqual(counts);
    const ada = station.demo.wallets.find((w) => w.name === 'Ada')!;
    expect((await walletApiTickets(station, 'Ada')).filter((t) => t.walletId === ada.walletId)).toHaveLength(1);
  });

  it('a ticket that does not verify against the configured issuer key is not written; the outcome refunds (vend-failed)', async () => {
    // The kiosk is told to trust another key under the same key id: the core's genuine ticket no longer verifies here.
    const other = generateSigningKeyPair(station.issuer.keyId);
    const pushed = await station.pushConfig(kioskId, { catalog, keys: issuerKeys(other) });
    await ready(h, pushed.version);
    const before = await station.balance('Dev');
    const phone = await station.phone('Dev');
    expect(h.program.choose('T2').ok).toBe(true);
    tap(h, phone);
    await eventually('refunded', () => h.program.counts.refunded === 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('The ticket could not be issued. Your payment is refunded.');
    expect(phone.holdings.tickets()).toEqual([]);
    const id = lastSettleId();
    await eventually('outcome applied', async () => (await entryOf(id))?.state === 'reversed');
    expect((await entryOf(id))?.outcome).toBe('vend-failed');
    expect(await station.balance('Dev')).toBe(before);
    h.sim.chip!.field.remove(phone);
    const back = await station.pushConfig(kioskId, { catalog, keys: issuerKeys(station.issuer) });
    await ready(h, back.version);
  });

  it('stops selling without issuer keys or products (tickets or e-money), and shows why', async () => {
    const pushed = await station.pushConfig(kioskId, { catalog: catalog.filter((c) => c.ticket === undefined), keys: { issuer: [], gates: [] } });
    await ready(h, pushed.version);
    await eventually('out of service', () => h.program.machine.state === 'out-of-service');
    expect(h.program.faults()).toEqual(['no-products', 'no-issuer-key']);
    expect(h.program.choose('T2')).toEqual({ ok: false, why: 'out-of-service' });
    expect(h.sim.display.text).toContain('Out of service: no-products, no-issuer-key');
    const back = await station.pushConfig(kioskId, { catalog, keys: issuerKeys(station.issuer) });
    await ready(h, back.version);
    await idleAgain(h);
    expect(h.program.choose('T2').ok).toBe(true);
    h.program.cancel();
    expect(h.program.machine.state).toBe('idle');
    expect(h.host.health().healthy).toBe(true);
  });
});
