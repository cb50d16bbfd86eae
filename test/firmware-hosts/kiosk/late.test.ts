/**
 * Results that come after the customer left: the gateway away during a tap,
 * and the kiosk killed with its settle request in the outbox. The ticket is
 * not written anywhere by the kiosk; the late approval is confirmed as
 * `ticket-retrievable` and the wallet API lists the ticket. Each sale is
 * settled exactly once.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kioskKind } from '../../../firmware-hosts/kiosk/kiosk.ts';
import { eventually, startTestHost } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import { idleAgain, kioskId, publishedSettles, startKiosk, startKioskStation, tap, walletApiTickets } from './kiosk-fixtures.ts';
import type { KioskHost } from './kiosk-fixtures.ts';
import type { KioskProgram } from '../../../firmware-hosts/kiosk/program.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const accountBalance = async (station: TestStation, account: string) => (await station.gw.core.store.getAccount(account))!.balance;

describe('ticket kiosk: late answers', () => {
  it('gateway away during the tap: "no answer yet"; when it is back the late approval is sent as ticket-retrievable and the wallet API lists the ticket', async () => {
    const t = tempDir('tapsettle-kiosk-late-');
    cleanups.push(() => t.cleanup());
    const first = await startKioskStation(undefined, { gatewayData: join(t.dir, 'gw') });
    const h = await startKiosk(first, { settleTimeoutMs: 300 }, { dataDir: join(t.dir, 'kiosk') });
    cleanups.push(() => h.host.close());
    const settles = publishedSettles(h);
    const ada = first.demo.wallets.find((w) => w.name === 'Ada')!;
    const before = await first.balance('Ada');
    const phone = await first.phone('Ada');
    const port = Number(new URL(first.mqttUrl).port);
    await first.close();
    await eventually('link down', () => !h.host.link.connected);

    expect(h.program.choose('T2').ok).toBe(true);
    tap(h, phone);
    await eventually('no answer in time', () => h.program.counts.timedOut === 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('No answer yet. If it is paid, the ticket will be in your wallet app.');
    phone.remove();
    h.sim.chip!.field.remove(phone);
    expect(h.host.link.outbox.depth).toBe(1);
    const requestId = h.host.link.outbox.pending()[0]!.id;

    const second = await startKioskStation(first.issuer, { gatewayData: join(t.dir, 'gw'), mqttPort: port, keys: first.keys });
    cleanups.push(() => second.close());
    cleanups.push(() => h.host.close()); // before its gateway, so it says goodbye to a broker that is there
    await eventually('late approval confirmed', () => h.program.counts.outcomesAcked === 1, 10_000);
    expect(h.program.counts).toMatchObject({ lateAnswers: 1, retrievable: 1, delivered: 0, refunded: 0 });
    expect(h.host.link.outbox.depth).toBe(0);
    expect(settles.has(requestId)).toBe(true);
    const entry = await second.gw.core.store.getJournalEntry({ deviceId: kioskId, requestId });
    expect(entry).toMatchObject({ state: 'deposited', outcome: 'ticket-retrievable' });
    expect(await accountBalance(second, ada.account)).toBe(before - 250);
    expect(phone.holdings.tickets()).toEqual([]);
    const listed = await walletApiTickets(first, 'Ada', second);
    expect(listed.map((x) => x.product)).toEqual(['single-ride']);
  });

  it('killed with the settle request in its outbox: after the restart the answer is confirmed once as ticket-retrievable', async () => {
    const station = await startKioskStation();
    cleanups.push(() => station.close());
    const t = tempDir('tapsettle-kiosk-kill-');
    cleanups.push(() => t.cleanup());
    const dataDir = join(t.dir, 'kiosk');
    const settings = { stopWaitMs: 200 };
    const h: KioskHost = await startKiosk(station, settings, { dataDir });
    const before = await station.balance('Ben');
    const phone = await station.phone('Ben');
    let requestId = '';
    const killed = new Promise<void>((resolve) => {
      // The socket goes at once (as in a power cut), so the answer cannot reach this run.
      h.host.link.once('published', (p) => {
        requestId = p.id;
        void h.host.link.abort();
        resolve(h.host.abort());
      });
    });
    expect(h.program.choose('T1').ok).toBe(true);
    tap(h, phone);
    await killed;
    h.sim.chip!.field.remove(phone);

    const again = await startTestHost(station, kioskKind, kioskId, { parts: { nfc: { driver: 'sim' } }, kiosk: settings }, { dataDir });
    cleanups.push(() => again.host.close());
    const program = again.host.program as KioskProgram;
    await eventually('late answer confirmed', () => program.counts.outcomesAcked === 1, 10_000);
    expect(program.counts).toMatchObject({ lateAnswers: 1, retrievable: 1, refunded: 0 });
    expect(again.host.link.outbox.depth).toBe(0);
    expect(await station.balance('Ben')).toBe(before - 700);
    const listed = await walletApiTickets(station, 'Ben');
    expect(listed.map((x) => x.product)).toEqual(['day-pass']);
    const [issued] = await station.gw.core.store.walletTickets(listed[0]!.walletId, 10);
    expect(issued?.requestId).toBe(requestId);
    expect(await station.gw.core.store.getJournalEntry({ deviceId: kioskId, requestId })).toMatchObject({ state: 'deposited', outcome: 'ticket-retrievable' });
    expect(phone.holdings.tickets()).toEqual([]);
  });

  it('a device file without an NFC reader is refused with the part named', async () => {
    const station = await startKioskStation();
    cleanups.push(() => station.close());
    await expect(startTestHost(station, kioskKind, kioskId, { parts: {} })).rejects.toMatchObject({ code: 'TS_ERR_DEVICE_PARTS', message: expect.stringContaining('parts.nfc') as unknown });
  });
});
