/**
 * The vending machine's fault tests (issue 5): a jammed spiral (refund, slot
 * disabled, all slots disabled), refusals without a tap, a forged result on
 * the device's topic, a result delivered twice.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultTag, topics, uuidv7 } from '../../../protocol/index.ts';
import { eventually, startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { balanceOf, buy, deviceId, machineLast, merchantBalance, phoneOf, pushCatalog, startMachine } from './vending-fixtures.ts';
import type { Machine } from './vending-fixtures.ts';

let station: TestStation;
let m: Machine;
const events: { kind: string; detail?: string }[] = [];

beforeAll(async () => {
  station = await startTestStation();
  station.gw.broker.onMessage('event', (id, payload) => {
    if (id === deviceId) events.push(JSON.parse(payload.toString()) as { kind: string; detail?: string });
  });
  const version = await pushCatalog(station);
  m = await startMachine(station, { configVersion: version });
});

afterAll(async () => {
  await m?.host.close();
  await station?.close();
});

const retainedOutputs = () => station.gw.broker.online().get(deviceId)?.state?.outputs ?? [];

describe('vending machine faults', () => {
  it('refuses an unknown slot, a slot without a price and a sold-out slot on the display, without a tap', async () => {
    const { phone } = await phoneOf(station, 'Ben');
    for (const [code, text] of [['Z9', 'No slot Z9. Choose again.'], ['A3', 'A3 is not for sale.']] as const) {
      await eventually('idle', () => m.program.machine.state === 'idle');
      const shown = m.shown.length;
      m.sim.keypad!.scan(code);
      await eventually(`refusal of ${code}`, () => m.shown.slice(shown).includes(text));
      expect(m.program.machine.history.some((t) => t.to === 'chosen' && t.why === code)).toBe(false);
    }
    // C1 holds one article: the first sells, the second is refused as sold out.
    await buy(m, phone, 'C1');
    expect(machineLast(m)).toMatchObject({ slot: 'C1', outcome: 'dispensed' });
    const shown = m.shown.length;
    await eventually('idle', () => m.program.machine.state === 'idle');
    m.sim.keypad!.scan('C1');
    await eventually('sold out shown', () => m.shown.slice(shown).includes('C1 is sold out.'));
    expect(m.turned.filter((r) => r === 'slot-c1')).toHaveLength(1);
    await eventually('sold out on the retained state', () => retainedOutputs().some((o) => o.name === 'slot C1' && o.state === 'sold-out'));
  });

  it('a jammed spiral: vend-failed and refunded each time; after 2 failures the slot is disabled, reported and refused', async () => {
    m.jammed.add('slot-a2');
    const { phone } = await phoneOf(station, 'Ada');
    const [ada0, merchant0] = [await balanceOf(station, 'Ada'), await merchantBalance(station)];
    for (let i = 1; i <= 2; i++) {
      await buy(m, phone, 'A2');
      const sale = machineLast(m);
      expect(sale).toMatchObject({ slot: 'A2', status: 'approved', outcome: 'vend-failed' });
      await eventually('outcome acknowledged', () => m.host.link.outbox.depth === 0);
      expect(await station.gw.core.store.getJournalEntry({ deviceId, requestId: sale.requestId })).toMatchObject({ state: 'reversed', outcome: 'vend-failed' });
      expect(await balanceOf(station, 'Ada')).toBe(ada0);
    }
    expect(await merchantBalance(station)).toBe(merchant0);
    expect(m.sim.relays.get('slot-a2')!.history().map((t) => t.state)).toEqual(['open', 'closed', 'open', 'closed']);
    expect(m.program.slots.isDisabled('A2')).toBe(true);
    await eventually('slot-disabled event', () => events.some((e) => e.kind === 'slot-disabled' && e.detail?.includes('A2') === true));
    await eventually('disabled on the retained state', () => retainedOutputs().some((o) => o.name === 'slot A2' && o.state.startsWith('disabled')));
    const shown = m.shown.length;
    m.sim.keypad!.scan('A2');
    await eventually('out of order shown', () => m.shown.slice(shown).includes('A2 is out of order.'));
    expect(m.sim.relays.get('slot-a2')!.history()).toHaveLength(4);
  });

  it('a forged approval on the device topic is dropped: the genuine decline is acted on and nothing turns', async () => {
    const { phone } = await phoneOf(station, 'Eve');
    const rejected = m.host.link.stats.rejected['bad-tag'];
    const turned = m.turned.length;
    // The moment the request leaves, a rogue publisher answers it with an approval tagged under a key it made up.
    m.host.link.once('published', (p) => {
      const req = JSON.parse(p.body) as { requestId: string; purchase: { amount: { minor: number; currency: string } } };
      const forged = { v: 1 as const, type: 'result' as const, requestId: req.requestId, sentAt: Date.now(), deviceId, status: 'approved' as const, amount: req.purchase.amount };
      void station.gw.broker.publish(topics.result(deviceId), JSON.stringify({ ...forged, tag: resultTag(randomBytes(32), forged) }), { qos: 1, retain: false });
    });
    await buy(m, phone, 'A1');
    expect(m.host.link.stats.rejected['bad-tag']).toBe(rejected + 1);
    expect(machineLast(m)).toMatchObject({ slot: 'A1', status: 'declined', reason: 'insufficient-funds' });
    expect(m.turned.length).toBe(turned);
    // A forged approval for a request nobody made: dropped too, no refund outcome is sent for it.
    const stray = { v: 1 as const, type: 'result' as const, requestId: uuidv7(), sentAt: Date.now(), deviceId, status: 'approved' as const, amount: { minor: 150, currency: 'EUR' } };
    await station.gw.broker.publish(topics.result(deviceId), JSON.stringify({ ...stray, tag: resultTag(randomBytes(32), stray) }), { qos: 1, retain: false });
    await eventually('stray forgery dropped', () => m.host.link.stats.rejected['bad-tag'] === rejected + 2);
    expect(m.program.report().lateRefunds).toBe(0);
    expect(m.host.link.outbox.depth).toBe(0);
    expect(m.turned.length).toBe(turned);
  });

  it('a phone taken away in the middle of AUTHORIZE PURCHASE: coded event, nothing settled, nothing turns, the next customer is served', async () => {
    const published = m.host.link.stats.published;
    const turned = m.turned.length;
    const shown = m.shown.length;
    const ben = await phoneOf(station, 'Ben');
    ben.consent = () => {
      m.sim.chip!.field.remove(ben.phone);
      return true;
    };
    await buy(m, ben.phone, 'A1');
    expect(m.shown.slice(shown)).toContain('Phone moved away. Nothing charged. Try again.');
    await eventually('error event', () => events.some((e) => e.kind === 'error' && e.detail?.startsWith('authorize failed') === true));
    expect(m.host.link.stats.published).toBe(published);
    expect(m.turned.length).toBe(turned);
    const again = await phoneOf(station, 'Ben');
    await buy(m, again.phone, 'A1');
    expect(machineLast(m)).toMatchObject({ slot: 'A1', outcome: 'dispensed' });
  });

  it('a result delivered twice turns the spiral once', async () => {
    const { phone } = await phoneOf(station, 'Ben');
    const ben0 = await balanceOf(station, 'Ben');
    const duplicates = m.host.link.stats.duplicates;
    const opens = () => m.sim.relays.get('slot-a1')!.history().filter((t) => t.state === 'open').length;
    const opened = opens();
    // The genuine result, byte for byte as the core sent it, is published a second time as soon as it arrived once.
    m.host.link.once('result', (r) => {
      void station.gw.core.store.getJournalEntry({ deviceId, requestId: r.requestId }).then((e) => station.gw.broker.publish(topics.result(deviceId), e!.resultJson, { qos: 1, retain: false }));
    });
    await buy(m, phone, 'A1');
    await eventually('the duplicate arrived', () => m.host.link.stats.duplicates === duplicates + 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(machineLast(m)).toMatchObject({ slot: 'A1', outcome: 'dispensed' });
    expect(opens()).toBe(opened + 1);
    expect(m.program.report().lateRefunds).toBe(0);
    expect(await balanceOf(station, 'Ben')).toBe(ben0 - 150);
  });

  it('all slots disabled: the machine goes out of service with the fault; a refill visit (door opened and closed) brings it back', async () => {
    // One host per device id: the broker would hand the connection back and forth between two.
    await m.host.close();
    const one = await startMachine(station, { overrides: { slots: { A1: { relay: 'slot-a1' } }, failuresBeforeDisable: 1 }, configVersion: 1 });
    try {
      one.jammed.add('slot-a1');
      const { phone } = await phoneOf(station, 'Ada');
      await buy(one, phone, 'A1');
      await eventually('out of service', () => one.program.machine.state === 'out-of-service');
      expect(one.program.faults()).toContain('all-slots-disabled');
      expect(one.host.health().faults).toContain('all-slots-disabled');
      one.jammed.clear();
      const door = one.sim.inputs.get('door')!;
      door.set(true);
      await eventually('door open seen', () => door.value);
      door.set(false);
      await eventually('back in service', () => one.program.machine.state === 'idle');
      expect(one.program.faults()).toEqual([]);
      await buy(one, phone, 'A1');
      expect(machineLast(one)).toMatchObject({ slot: 'A1', outcome: 'dispensed' });
    } finally {
      m = one;
    }
  });
});
