/**
 * The vending machine's claim flows end to end: the real gateway and core,
 * the host on simulated parts (virtual PN532, keypad, relays, drop sensor),
 * demo phones tapping. Each test asserts what turned, what fell, the ledger
 * and what the phone was shown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { balanceOf, buy, deviceId, machineLast, merchantBalance, phoneOf, pushCatalog, startMachine, walletOf } from './vending-fixtures.ts';
import type { Machine } from './vending-fixtures.ts';

let station: TestStation;
let m: Machine;

beforeAll(async () => {
  station = await startTestStation();
  const version = await pushCatalog(station);
  m = await startMachine(station, { configVersion: version });
});

afterAll(async () => {
  await m?.host.close();
  await station?.close();
});

describe('vending machine, claims 10, 13, 14', () => {
  it('claim 10: keypad A1, the phone shows and signs the article, approved, the spiral turns, the drop is seen, dispensed; merchant credited after the outcome', async () => {
    const { phone, shown } = await phoneOf(station, 'Ada');
    const [ada0, merchant0] = [await balanceOf(station, 'Ada'), await merchantBalance(station)];
    await buy(m, phone, 'A1');
    expect(shown).toHaveLength(1);
    expect(shown[0]!.purchase).toMatchObject({ article: 'cola-330', amount: { minor: 150, currency: 'EUR' }, quantity: 1 });
    expect(shown[0]!.deviceId).toBe(deviceId);
    const relay = m.sim.relays.get('slot-a1')!;
    expect(relay.history().map((t) => t.state)).toEqual(['open', 'closed']);
    expect(m.turned).toEqual(['slot-a1']);
    const sale = machineLast(m);
    expect(sale).toMatchObject({ slot: 'A1', article: 'cola-330', status: 'approved', outcome: 'dispensed' });
    // The outcome is acknowledged: nothing is left in the outbox, and the money has moved once.
    await eventually('outcome acknowledged', () => m.host.link.outbox.depth === 0);
    const entry = await station.gw.core.store.getJournalEntry({ deviceId, requestId: sale.requestId });
    expect(entry).toMatchObject({ state: 'deposited', outcome: 'dispensed', amount: 150 });
    expect(await balanceOf(station, 'Ada')).toBe(ada0 - 150);
    expect(await merchantBalance(station)).toBe(merchant0 + 150);
    expect(m.sim.display.text).toBe('Choose a slot.');
  });

  it('claim 13: a cooling-off article is dispensed, the deposit waits, the customer cancels and is refunded', async () => {
    const { phone } = await phoneOf(station, 'Ada');
    const [ada0, merchant0] = [await balanceOf(station, 'Ada'), await merchantBalance(station)];
    const before = Date.now();
    await buy(m, phone, 'B2');
    expect(m.turned.at(-1)).toBe('slot-b2');
    const sale = machineLast(m);
    expect(sale).toMatchObject({ slot: 'B2', status: 'approved', outcome: 'dispensed' });
    expect(sale.deferredUntil).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    await eventually('outcome acknowledged', () => m.host.link.outbox.depth === 0);
    const key = { deviceId, requestId: sale.requestId };
    const entry = await station.gw.core.store.getJournalEntry(key);
    expect(entry).toMatchObject({ state: 'deferred', outcome: 'dispensed' });
    expect(JSON.parse(entry!.requestJson)).toMatchObject({ restrictions: { coolingOffSec: 3600 }, outcomeDeadlineSec: 30 });
    expect(await merchantBalance(station)).toBe(merchant0);
    expect(await balanceOf(station, 'Ada')).toBe(ada0 - 2500);
    await expect(station.gw.core.cancel(key, walletOf(station, 'Ada'))).resolves.toMatchObject({});
    expect((await station.gw.core.store.getJournalEntry(key))!.state).toBe('cancelled');
    expect(await balanceOf(station, 'Ada')).toBe(ada0);
    expect(await merchantBalance(station)).toBe(merchant0);
  });

  it('claim 14: an age-restricted article is declined for Dev (under 16) and nothing turns; Ada gets it', async () => {
    const dev = await phoneOf(station, 'Dev');
    const dev0 = await balanceOf(station, 'Dev');
    const turned = m.turned.length;
    await buy(m, dev.phone, 'B1');
    expect(machineLast(m)).toMatchObject({ slot: 'B1', status: 'declined', reason: 'not-eligible' });
    expect(m.turned.length).toBe(turned);
    expect(m.sim.relays.get('slot-b1')!.history()).toEqual([]);
    expect(await balanceOf(station, 'Dev')).toBe(dev0);
    const entry = await station.gw.core.store.getJournalEntry({ deviceId, requestId: machineLast(m).requestId });
    expect(JSON.parse(entry!.requestJson)).toMatchObject({ restrictions: { eligibility: { minAgeYears: 18 } } });

    const ada = await phoneOf(station, 'Ada');
    const ada0 = await balanceOf(station, 'Ada');
    await buy(m, ada.phone, 'B1');
    expect(machineLast(m)).toMatchObject({ slot: 'B1', status: 'approved', outcome: 'dispensed' });
    expect(m.sim.relays.get('slot-b1')!.history().map((t) => t.state)).toEqual(['open', 'closed']);
    expect(await balanceOf(station, 'Ada')).toBe(ada0 - 350);
  });

  it('declined for insufficient funds (Eve): the reason is shown, nothing turns, nothing moves', async () => {
    const { phone } = await phoneOf(station, 'Eve');
    const turned = m.turned.length;
    const shown = m.shown.length;
    await buy(m, phone, 'A2');
    expect(machineLast(m)).toMatchObject({ slot: 'A2', status: 'declined', reason: 'insufficient-funds' });
    expect(m.shown.slice(shown)).toContain("Declined: the payer's balance would fall below its floor.");
    expect(m.turned.length).toBe(turned);
    expect(m.sim.relays.get('slot-a2')!.history()).toEqual([]);
    expect(await balanceOf(station, 'Eve')).toBe(0);
  });

  it('the customer refuses on the phone: nothing is settled, nothing turns', async () => {
    const { phone, shown } = await phoneOf(station, 'Ben', () => false);
    const depth = m.host.link.stats.published;
    const turned = m.turned.length;
    await buy(m, phone, 'A1');
    expect(shown).toHaveLength(1);
    expect(m.turned.length).toBe(turned);
    expect(m.host.link.stats.published).toBe(depth);
  });
});
