/**
 * The purchase terminal end to end (claims 8, 9, 12): a real gateway and core,
 * the host on simulated parts, a simulated phone tapping the virtual PN532
 * and reaching the wallet API over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../../protocol/index.ts';
import type { SimulatedPhone } from '../../../sim/phone/phone.ts';
import { WalletApiClient } from '../../../sim/phone/wallet-api-client.ts';
import type { SettleRequest, SettleResult } from '../../../protocol/index.ts';
import { eventually, ready, startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { apiPhone, catalog, merchantBalance, startPos } from './pos-fixtures.ts';
import type { PosHost } from './pos-fixtures.ts';

let station: TestStation;
const hosts: PosHost[] = [];
const phones: SimulatedPhone[] = [];

beforeAll(async () => {
  station = await startTestStation();
  await station.pushConfig('pos-1', { catalog });
});

afterAll(async () => {
  for (const p of phones) await p.results.close();
  for (const h of hosts) await h.host.close();
  await station.close();
});

async function pos(settings: Record<string, unknown>): Promise<PosHost> {
  const h = await startPos(station, settings);
  hosts.push(h);
  await ready(h);
  return h;
}

async function phone(name: string, o: Parameters<typeof apiPhone>[2] = {}): Promise<SimulatedPhone> {
  const p = await apiPhone(station, name, o);
  phones.push(p);
  return p;
}

/** Waits for "tap phone", taps, waits for the terminal to be idle again, takes the phone away. */
async function tapThrough(h: PosHost, p: SimulatedPhone): Promise<void> {
  await eventually('terminal asks for a phone', () => h.program.machine.state === 'waiting-tap');
  h.sim.chip!.field.place(p);
  await eventually('terminal shows a result', () => h.program.machine.state === 'showing');
  await eventually('terminal back at idle', () => h.program.machine.state === 'idle');
  h.sim.chip!.field.remove(p);
}

async function close(h: PosHost): Promise<void> {
  await h.host.close();
  hosts.splice(hosts.indexOf(h), 1);
}

describe('purchase terminal', () => {
  it('claim 8 + 12: keyed amount, tap, the terminal settles, APPROVED shown; wallet debited, merchant credited, the phone gets the result', async () => {
    const h = await pos({ mode: 'terminal' });
    const ada = await phone('Ada');
    await ada.results.watch();
    const [adaBefore, merchantBefore] = [await station.balance('Ada'), await merchantBalance(station)];
    h.key('*1250');
    h.key('+');
    await tapThrough(h, ada);
    const sale = h.program.lastSale!;
    expect(sale).toMatchObject({ status: 'approved', purchase: { amount: { minor: 1250, currency: 'EUR' }, article: 'amount', quantity: 1 } });
    expect(h.shown).toContain('APPROVED 12.50 EUR');
    expect(await station.balance('Ada')).toBe(adaBefore - 1250);
    // The money waits in clearing until the terminal reports the goods handed over.
    await eventually('merchant credited after the outcome', async () => (await merchantBalance(station)) === merchantBefore + 1250);
    await eventually('the paying phone received the result (claim 12)', () => ada.results.resultsFor(sale.requestId).some((r) => r.via === 'stream'));
    expect(ada.results.resultsFor(sale.requestId)[0]!.result.status).toBe('approved');
    expect(ada.results.sent).toHaveLength(0);
    await eventually('outcome acknowledged', () => h.host.link.outbox.depth === 0);
    await close(h);
  });

  it('claim 9 + 12: scanned articles; the phone settles through the wallet API; the terminal shows the verified result; the ledger moves once', async () => {
    const h = await pos({ mode: 'phone' });
    const ben = await phone('Ben');
    await ben.results.watch();
    const [benBefore, merchantBefore] = [await station.balance('Ben'), await merchantBalance(station)];
    h.key('COFFEE');
    h.key('COFFEE');
    h.key('+');
    await tapThrough(h, ben);
    const sale = h.program.lastSale!;
    expect(sale).toMatchObject({ status: 'approved', purchase: { amount: { minor: 500, currency: 'EUR' }, article: 'COFFEE', quantity: 2 } });
    expect(h.shown).toContain('APPROVED 5.00 EUR');
    // The phone sent the settle itself, under the requestId the terminal chose, and got the answer.
    expect(ben.results.sent).toHaveLength(1);
    expect(ben.results.sent[0]!.request).toMatchObject({ requestId: sale.requestId, deviceId: 'pos-1' });
    expect(ben.results.sent[0]!.result?.status).toBe('approved');
    // The terminal wrote no settle of its own: only its outcome went through the outbox.
    expect(h.host.link.stats.answered).toBeGreaterThanOrEqual(1);
    await eventually('merchant credited after the outcome', async () => (await merchantBalance(station)) === merchantBefore + 500);
    await eventually('claim 12: the result on the phone\'s stream too', () => ben.results.resultsFor(sale.requestId).some((r) => r.via === 'stream'));
    expect(await station.balance('Ben')).toBe(benBefore - 500);
    const lines = await station.gw.core.store.statement(station.demo.wallets.find((w) => w.name === 'Ben')!.account, { limit: 50 });
    expect(lines.filter((l) => l.journalRequestId === sale.requestId)).toHaveLength(1);
    await close(h);
  });

  it('declined (Eve, no money): DECLINED with the reason on the display; nothing moves', async () => {
    const h = await pos({ mode: 'terminal' });
    const eve = await phone('Eve');
    const merchantBefore = await merchantBalance(station);
    h.key('4006381333931');
    h.key('+');
    await tapThrough(h, eve);
    expect(h.program.lastSale).toMatchObject({ status: 'declined', detail: 'insufficient-funds' });
    expect(h.shown).toContain('DECLINED insufficient-funds');
    expect(await station.balance('Eve')).toBe(0);
    expect(await merchantBalance(station)).toBe(merchantBefore);
    await close(h);
  });

  it('a forged result on the terminal\'s topic is not shown as approved (claim 9, the phone cannot reach the API)', async () => {
    const h = await pos({ mode: 'phone', settleTimeoutMs: 1_000 });
    const cleo = await phone('Cleo', { baseUrl: 'http://127.0.0.1:9' });
    h.key('*100');
    h.key('+');
    await eventually('terminal asks for a phone', () => h.program.machine.state === 'waiting-tap');
    h.sim.chip!.field.place(cleo);
    await eventually('the phone tried to settle', () => cleo.results.sent.length === 1);
    const request = cleo.results.sent[0]!.request;
    const forged: SettleResult = {
      v: 1, type: 'result', requestId: request.requestId, sentAt: Date.now(), deviceId: 'pos-1', status: 'approved',
      amount: { minor: 100, currency: 'EUR' }, tag: 'ab'.repeat(32),
    };
    await station.gw.broker.publish(topics.result('pos-1'), JSON.stringify(forged), { qos: 1, retain: false });
    await eventually('terminal back at idle', () => h.program.machine.state === 'idle');
    h.sim.chip!.field.remove(cleo);
    expect(h.host.link.stats.rejected['bad-tag']).toBe(1);
    expect(h.program.lastSale).toMatchObject({ status: 'no-answer' });
    expect(h.shown.some((t) => t.startsWith('APPROVED'))).toBe(false);
    expect(cleo.results.sent[0]!.error).toMatch(/^TS_ERR_WALLET_API_(UNREACHABLE|TIMEOUT)/);
    await close(h);
  });

  it('the phone leaves mid-exchange: coded error shown, terminal back at idle, nothing settled', async () => {
    const h = await pos({ mode: 'terminal' });
    let dev: SimulatedPhone | null = null;
    dev = await phone('Dev', { phone: { consent: () => {
      h.sim.chip!.field.remove(dev!);
      return true;
    } } });
    const before = await station.balance('Dev');
    h.key('*300');
    h.key('+');
    await eventually('terminal asks for a phone', () => h.program.machine.state === 'waiting-tap');
    h.sim.chip!.field.place(dev);
    await eventually('terminal back at idle', () => h.program.machine.state === 'idle' && h.program.lastSale !== null);
    expect(h.program.lastSale).toMatchObject({ status: 'failed' });
    expect(h.program.lastSale!.detail).toMatch(/^TS_ERR_/);
    expect(h.shown.some((t) => t.startsWith('NOT PAID - tap failed'))).toBe(true);
    expect(h.host.link.outbox.depth).toBe(0);
    expect(await station.balance('Dev')).toBe(before);
    // The terminal takes the next sale.
    h.key('*5');
    await eventually('next sale started', () => h.program.machine.state === 'entering');
    await close(h);
  });

  it('a late approval (the phone\'s settle came after the terminal gave up) is refunded by a vend-failed outcome', async () => {
    const h = await pos({ mode: 'phone', settleTimeoutMs: 300 });
    class SlowClient extends WalletApiClient {
      override async settle(request: SettleRequest): Promise<SettleResult> {
        await new Promise((r) => setTimeout(r, 800));
        return super.settle(request);
      }
    }
    const adaKey = Buffer.from(station.demo.wallets.find((w) => w.name === 'Ada')!.walletKey, 'base64');
    // Ada's first phone (claim 8 test) used purchase counter 1: this one continues above it.
    const ada = await phone('Ada', { client: (c) => new SlowClient({ baseUrl: c.baseUrl, walletId: c.walletId, walletKey: adaKey, timeoutMs: 3_000 }), phone: { initialCounter: 1_000 } });
    const [adaBefore, merchantBefore] = [await station.balance('Ada'), await merchantBalance(station)];
    h.key('*700');
    h.key('+');
    await tapThrough(h, ada);
    expect(h.program.lastSale).toMatchObject({ status: 'no-answer' });
    expect(h.shown).toContain('NOT PAID - no answer, try again');
    await eventually('the phone\'s settle was answered', () => ada.results.sent[0]?.result !== undefined);
    expect(ada.results.sent[0]!.result!.status).toBe('approved');
    await eventually('refunded', async () => (await station.balance('Ada')) === adaBefore);
    expect(await merchantBalance(station)).toBe(merchantBefore);
    expect(h.program.report().lateApprovalsRefunded).toBe(1);
    await close(h);
  });

  it('bad keypad input is refused on the display with its code; the terminal keeps going', async () => {
    const h = await pos({ mode: 'terminal' });
    h.key('9'.repeat(40));
    await eventually('too long refused', () => h.shown.includes('REFUSED POS_CODE_TOO_LONG'));
    h.key('NOSUCHTHING');
    await eventually('unknown refused', () => h.shown.includes('REFUSED POS_UNKNOWN_CODE'));
    h.key('*12a4');
    await eventually('bad amount refused', () => h.shown.includes('REFUSED POS_BAD_AMOUNT'));
    h.key('*0');
    h.key('+');
    await eventually('empty basket refused', () => h.shown.includes('REFUSED POS_EMPTY_BASKET'));
    // F1 types no character: the reader drops the whole code as garbage (TS_ERR_HID_GARBAGE).
    h.sim.keypad!.sendReport(Uint8Array.of(0, 0, 0x3a, 0, 0, 0, 0, 0));
    h.sim.keypad!.sendReport(new Uint8Array(8));
    h.key('COFFEE');
    await eventually('garbled report dropped by the reader and refused', () => h.shown.some((t) => t.startsWith('REFUSED HID_')));
    expect(h.program.machine.state).toBe('idle');
    h.key('*99999999');
    await eventually('over the sale limit refused', () => h.shown.includes('REFUSED POS_BAD_AMOUNT'));
    h.key('*2500');
    await eventually('a good amount is taken', () => h.program.machine.state === 'entering');
    expect(h.program.report()).toMatchObject({ basketMinor: 2500, basketLines: 1 });
    h.key('-');
    await eventually('cancelled', () => h.program.machine.state === 'idle');
    expect(h.program.report().basketLines).toBe(0);
    await close(h);
  });
});

