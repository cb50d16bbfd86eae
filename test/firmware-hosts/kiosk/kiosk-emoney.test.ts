/**
 * E-money bought at the kiosk and written over NFC (claim 34, PUT EMONEY), end
 * to end: a simulated phone on the virtual PN532 → the kiosk host (the real
 * PN532 driver) → MQTT → the gateway → the core on SQLite. The phone holds a
 * token that verifies, the wallet is debited, the float credited, the audit
 * holds; a phone that leaves before PUT EMONEY finds its token in the wallet
 * API inbox and can deposit it; late answers, a token that does not verify, a
 * decline and a gateway without an issuer key.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emoneyTokenBytes, generateSigningKeyPair, verifyEd25519 } from '../../../protocol/index.ts';
import type { EmoneyToken } from '../../../protocol/index.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import { eventually, ready, startTestHost, startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { kioskKind } from '../../../firmware-hosts/kiosk/kiosk.ts';
import type { KioskProgram } from '../../../firmware-hosts/kiosk/program.ts';
import { emoneyCatalog, emoneyItem, emoneyOnPhone, idleAgain, issuerKeys, kioskId, phoneEmoney, publishedSettles, pullWhenSettling, startKiosk, startKioskStation, tap } from './kiosk-fixtures.ts';
import type { KioskHost } from './kiosk-fixtures.ts';

const walletOf = (station: TestStation, name: string) => station.demo.wallets.find((w) => w.name === name)!;
const floatBalance = async (station: TestStation) => (await station.gw.core.store.listAccounts({ kind: 'issuer-float', limit: 10 })).find((a) => a.currency === 'EUR')!.balance;
const merchantBalance = async (station: TestStation) => (await station.gw.core.store.getAccount(station.demo.merchant))!.balance;
const expectAuditOk = async (station: TestStation) => expect((await station.gw.core.audit()).checks.filter((c) => !c.ok)).toEqual([]);

describe('e-money at the kiosk', () => {
  let station: Awaited<ReturnType<typeof startKioskStation>>;
  let h: KioskHost;
  let settles: Map<string, string>;
  const verifies = (t: EmoneyToken) => {
    const { sig, ...unsigned } = t;
    return verifyEd25519(station.issuer.publicKey, emoneyTokenBytes(unsigned), sig);
  };
  const entryOf = (requestId: string) => station.gw.core.store.getJournalEntry({ deviceId: kioskId, requestId });
  const lastSettleId = () => [...settles.keys()].at(-1)!;

  beforeAll(async () => {
    station = await startKioskStation();
    h = await startKiosk(station);
    settles = publishedSettles(h);
    const pushed = await station.pushConfig(kioskId, { catalog: emoneyCatalog, keys: issuerKeys(station.issuer) });
    await ready(h, pushed.version);
  });
  afterAll(async () => {
    await h?.host.close();
    await station?.close();
  });

  it('chosen on the keypad and paid by tap: the phone holds a token that verifies; wallet debited, float credited, merchant untouched, audit ok', async () => {
    const ada = walletOf(station, 'Ada');
    const before = { ada: await station.balance('Ada'), float: await floatBalance(station), merchant: await merchantBalance(station) };
    const phone = await station.phone('Ada');
    expect(h.sim.display.text).toContain('Choose a ticket or e-money: T1 T2 E1');
    expect(h.sim.keypad!.scan('E1')).toBe(true);
    await eventually('e-money chosen', () => h.program.machine.state === 'awaiting-tap');
    expect(h.sim.display.text).toContain('E-money 20.00 20.00 EUR');
    tap(h, phone);
    await eventually('e-money delivered and acknowledged', () => h.program.counts.outcomesAcked === 1);
    await idleAgain(h);
    expect(h.program.counts).toMatchObject({ delivered: 1, retrievable: 0, refunded: 0 });
    expect(h.sim.display.text).toBe('20.00 EUR of e-money is on your phone.');

    const held = phone.holdings.emoney();
    expect(held).toHaveLength(1);
    const token = held[0]!;
    expect(token).toMatchObject({ holder: ada.walletId, amount: emoneyItem.price, keyId: station.issuer.keyId });
    expect(verifies(token)).toBe(true);
    phone.remove();
    h.sim.chip!.field.remove(phone);
    expect(await emoneyOnPhone(phone)).toEqual([token]);

    // The settle request asked for e-money and promised no outcome deadline.
    const sent = JSON.parse(settles.get(lastSettleId())!) as Record<string, unknown>;
    expect(sent).toMatchObject({ emoney: { kind: 'issue' }, purchase: { article: 'emoney-20', amount: emoneyItem.price } });
    expect(sent.outcomeDeadlineSec).toBeUndefined();
    expect(sent.ticket).toBeUndefined();

    expect(await station.balance('Ada')).toBe(before.ada - 2_000);
    expect(await floatBalance(station)).toBe(before.float + 2_000);
    expect(await merchantBalance(station)).toBe(before.merchant);
    expect(await entryOf(lastSettleId())).toMatchObject({ state: 'deposited', outcome: 'emoney-delivered' });
    // Delivered, and also in the inbox until deposited: the inbox lists what is unspent.
    expect(await station.gw.core.store.emoneyInbox(ada.walletId, { limit: 10 })).toEqual([token]);
    await expectAuditOk(station);
  });

  it('the phone leaves before PUT EMONEY: emoney-retrievable; the phone collects the token from the inbox and deposits it', async () => {
    const cleo = walletOf(station, 'Cleo');
    const before = await station.balance('Cleo');
    const phone = await station.phone('Cleo');
    const pulled = pullWhenSettling(h, phone);
    expect(h.program.choose('emoney-20').ok).toBe(true);
    tap(h, phone);
    await pulled;
    await eventually('e-money retrievable', () => h.program.counts.retrievable === 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('Phone removed: your e-money is in your wallet app.');
    expect(phone.holdings.emoney()).toEqual([]);
    const id = lastSettleId();
    await eventually('outcome recorded', async () => (await entryOf(id))?.outcome === 'emoney-retrievable');
    expect((await entryOf(id))?.state).toBe('deposited');
    expect(await station.balance('Cleo')).toBe(before - 2_000);

    const emoney = phoneEmoney(station, 'Cleo', phone);
    const collected = await emoney.collect();
    expect(collected).toHaveLength(1);
    expect(collected[0]).toMatchObject({ holder: cleo.walletId, amount: emoneyItem.price });
    expect(verifies(collected[0]!)).toBe(true);
    expect(phone.holdings.emoney()).toEqual(collected);
    const floatBefore = await floatBalance(station);
    const deposited = await emoney.deposit();
    expect(deposited).toMatchObject({ status: 'deposited', amount: emoneyItem.price, serials: [collected[0]!.serial] });
    expect(phone.holdings.emoney()).toEqual([]);
    expect(await station.balance('Cleo')).toBe(before);
    expect(await floatBalance(station)).toBe(floatBefore - 2_000);
    await expectAuditOk(station);
  });

  it('a token that does not verify under the configured key is not written; the sale stands (no refund): emoney-retrievable, the token is in the inbox', async () => {
    const other = generateSigningKeyPair(station.issuer.keyId);
    const pushed = await station.pushConfig(kioskId, { catalog: emoneyCatalog, keys: issuerKeys(other) });
    await ready(h, pushed.version);
    const ben = walletOf(station, 'Ben');
    const before = await station.balance('Ben');
    const phone = await station.phone('Ben');
    const retrievable = h.program.counts.retrievable;
    expect(h.program.choose('E1').ok).toBe(true);
    tap(h, phone);
    await eventually('e-money retrievable', () => h.program.counts.retrievable === retrievable + 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('Paid: your e-money is in your wallet app.');
    expect(h.program.counts.refunded).toBe(0);
    expect(phone.holdings.emoney()).toEqual([]);
    const id = lastSettleId();
    await eventually('outcome recorded', async () => (await entryOf(id))?.outcome === 'emoney-retrievable');
    expect(await station.balance('Ben')).toBe(before - 2_000);
    const inbox = await station.gw.core.store.emoneyInbox(ben.walletId, { limit: 10 });
    expect(inbox).toHaveLength(1);
    expect(verifies(inbox[0]!)).toBe(true);
    h.sim.chip!.field.remove(phone);
    const back = await station.pushConfig(kioskId, { catalog: emoneyCatalog, keys: issuerKeys(station.issuer) });
    await ready(h, back.version);
    await expectAuditOk(station);
  });

  it('declined (Eve, no funds): the reason is shown, nothing is written, no outcome, no token', async () => {
    const eve = walletOf(station, 'Eve');
    const phone = await station.phone('Eve');
    const acked = h.program.counts.outcomesAcked;
    const declined = h.program.counts.declined;
    expect(h.program.choose('E1').ok).toBe(true);
    tap(h, phone);
    await eventually('declined', () => h.program.counts.declined === declined + 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('Declined: insufficient-funds');
    expect(phone.holdings.emoney()).toEqual([]);
    expect(await station.gw.core.store.emoneyInbox(eve.walletId, { limit: 10 })).toEqual([]);
    expect((await entryOf(lastSettleId()))?.state).toBe('declined');
    expect(h.program.counts.outcomesAcked).toBe(acked);
    h.sim.chip!.field.remove(phone);
  });
});

describe('e-money at the kiosk: late answers and a gateway without an issuer key', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('gateway away during the tap: "no answer yet"; the late approval is confirmed as emoney-retrievable and the token is in the inbox', async () => {
    const t = tempDir('tapsettle-kiosk-emoney-late-');
    cleanups.push(() => t.cleanup());
    const first = await startKioskStation(undefined, { gatewayData: join(t.dir, 'gw') });
    const h = await startKiosk(first, { settleTimeoutMs: 300 }, { dataDir: join(t.dir, 'kiosk') });
    cleanups.push(() => h.host.close());
    const pushed = await first.pushConfig(kioskId, { catalog: emoneyCatalog, keys: issuerKeys(first.issuer) });
    await ready(h, pushed.version);
    const ben = walletOf(first, 'Ben');
    const before = await first.balance('Ben');
    const phone = await first.phone('Ben');
    const port = Number(new URL(first.mqttUrl).port);
    await first.close();
    await eventually('link down', () => !h.host.link.connected);

    expect(h.program.choose('E1').ok).toBe(true);
    tap(h, phone);
    await eventually('no answer in time', () => h.program.counts.timedOut === 1);
    await idleAgain(h);
    expect(h.sim.display.text).toBe('No answer yet. If it is paid, the e-money will be in your wallet app.');
    phone.remove();
    h.sim.chip!.field.remove(phone);
    const requestId = h.host.link.outbox.pending()[0]!.id;

    const second = await startKioskStation(first.issuer, { gatewayData: join(t.dir, 'gw'), mqttPort: port, keys: first.keys });
    cleanups.push(() => second.close());
    cleanups.push(() => h.host.close());
    await eventually('late approval confirmed', () => h.program.counts.outcomesAcked === 1, 10_000);
    expect(h.program.counts).toMatchObject({ lateAnswers: 1, retrievable: 1, delivered: 0, refunded: 0 });
    expect(h.host.link.outbox.depth).toBe(0);
    expect(await second.gw.core.store.getJournalEntry({ deviceId: kioskId, requestId })).toMatchObject({ state: 'deposited', outcome: 'emoney-retrievable' });
    expect((await second.gw.core.store.getAccount(ben.account))!.balance).toBe(before - 2_000);
    expect(phone.holdings.emoney()).toEqual([]);
    const collected = await phoneEmoney(first, 'Ben', phone, second).collect();
    expect(collected.map((x) => [x.holder, x.amount.minor])).toEqual([[ben.walletId, 2_000]]);
    expect((await second.gw.core.audit()).ok).toBe(true);
  });

  it('without an issuer key on the gateway the sale is declined emoney-unavailable; nothing moves', async () => {
    const station = await startTestStation();
    cleanups.push(() => station.close());
    const config = await station.pushConfig(kioskId, { catalog: emoneyCatalog, keys: issuerKeys(generateSigningKeyPair('issuer-unused')) });
    const h = await startTestHost(station, kioskKind, kioskId, { parts: { nfc: { driver: 'sim' } } });
    cleanups.push(() => h.host.close());
    await ready(h, config.version);
    const program = h.host.program as KioskProgram;
    const before = await station.balance('Ada');
    const phone = await station.phone('Ada');
    expect(program.choose('E1').ok).toBe(true);
    tap(h, phone);
    await eventually('declined', () => program.counts.declined === 1);
    expect(h.sim.display.text).toBe('Declined: emoney-unavailable');
    expect(phone.holdings.emoney()).toEqual([]);
    expect(await station.balance('Ada')).toBe(before);
    expect(program.counts.outcomesAcked).toBe(0);
  });
});
