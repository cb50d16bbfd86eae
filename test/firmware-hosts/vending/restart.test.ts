/**
 * Restarts in the middle of a vend: the core (gateway) restarted while the
 * host waits, the gateway away for longer than the customer waits, and the
 * host killed with its request in the outbox. Each request is settled once;
 * an approval that arrives when no customer is waiting never turns a spiral
 * and is answered `vend-failed`, so the money goes back.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import { startGateway } from '../../../gateway/gateway.ts';
import { eventually, startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { accountOf, balanceOf, buy, deviceId, machineLast, merchantBalance, phoneOf, pushCatalog, startMachine } from './vending-fixtures.ts';
import type { Machine } from './vending-fixtures.ts';

let station: TestStation;
let version: number;
const open: Machine[] = [];

/** Starts the gateway again on the same data dir, keys and MQTT port, and pushes the catalog again. */
async function startGatewayAgain(): Promise<void> {
  const port = Number(new URL(station.mqttUrl).port);
  station.gw = await startGateway(parseGatewayConfig({ data: join(station.dir, 'gw'), mqtt: { port }, http: { port: 0 }, log: { level: 'silent' } }), station.keys);
  // The harness publishes configs straight into the broker, whose retained messages do not outlive it.
  version = await pushCatalog(station);
}

async function restartGateway(): Promise<void> {
  await station.gw.close();
  await startGatewayAgain();
}

/** Money lines of Ada's account for one request: what the ledger did with it. */
async function linesFor(requestId: string): Promise<{ kind: string; amount: number }[]> {
  const lines = await station.gw.core.store.statement(accountOf(station, 'Ada'), { limit: 200 });
  return lines.filter((l) => l.journalRequestId === requestId).map((l) => ({ kind: l.kind, amount: l.amount })).reverse();
}

beforeAll(async () => {
  station = await startTestStation();
  version = await pushCatalog(station);
});

afterAll(async () => {
  for (const m of open) await m.host.close();
  // The first gateway was closed by a restart: close the one running now, then the temp dir.
  await station?.gw.close();
  if (station) rmSync(station.dir, { recursive: true, force: true });
});

describe('vending machine across restarts', () => {
  it('the core restarted mid-vend: the host reconnects, resends, gets its approval within the wait and dispenses; settled once', async () => {
    const m = await startMachine(station, { configVersion: version, overrides: { settleTimeoutMs: 15_000 } });
    open.push(m);
    const { phone } = await phoneOf(station, 'Ada');
    const [ada0, merchant0] = [await balanceOf(station, 'Ada'), await merchantBalance(station)];
    let restarted: Promise<void> = Promise.resolve();
    m.host.link.once('published', () => {
      restarted = restartGateway();
    });
    await buy(m, phone, 'A1');
    await restarted;
    const sale = machineLast(m);
    expect(sale).toMatchObject({ slot: 'A1', status: 'approved', outcome: 'dispensed' });
    expect(m.host.link.stats.connects).toBeGreaterThanOrEqual(2);
    expect(m.sim.relays.get('slot-a1')!.history().filter((t) => t.state === 'open')).toHaveLength(1);
    await eventually('outcome acknowledged', () => m.host.link.outbox.depth === 0);
    expect(await station.gw.core.store.getJournalEntry({ deviceId, requestId: sale.requestId })).toMatchObject({ state: 'deposited', outcome: 'dispensed' });
    expect(await linesFor(sale.requestId)).toEqual([{ kind: expect.any(String) as string, amount: -150 }]);
    expect(await balanceOf(station, 'Ada')).toBe(ada0 - 150);
    expect(await merchantBalance(station)).toBe(merchant0 + 150);
    await m.host.close();
  });

  it('the gateway away longer than the customer waits: "no answer", nothing turns; the late approval is answered vend-failed and refunded', async () => {
    const m = await startMachine(station, { configVersion: version, overrides: { settleTimeoutMs: 800 } });
    open.push(m);
    const { phone } = await phoneOf(station, 'Ada');
    const ada0 = await balanceOf(station, 'Ada');
    await station.gw.close();
    await eventually('host offline', () => !m.host.link.connected);
    const shown = m.shown.length;
    await buy(m, phone, 'A2');
    const sale = machineLast(m);
    expect(sale).toMatchObject({ slot: 'A2', status: 'no-answer', reason: 'TS_ERR_LINK_TIMEOUT' });
    expect(m.shown.slice(shown).some((t) => t.startsWith('No answer.'))).toBe(true);
    expect(m.host.link.outbox.depth).toBe(1);
    await startGatewayAgain();
    await eventually('late approval refunded', async () => (await station.gw.core.store.getJournalEntry({ deviceId, requestId: sale.requestId }))?.state === 'reversed');
    expect(m.program.report().lateRefunds).toBe(1);
    expect((await station.gw.core.store.getJournalEntry({ deviceId, requestId: sale.requestId }))!.outcome).toBe('vend-failed');
    expect(m.sim.relays.get('slot-a2')!.history()).toEqual([]);
    expect((await linesFor(sale.requestId)).map((l) => l.amount)).toEqual([-200, 200]);
    expect(await balanceOf(station, 'Ada')).toBe(ada0);
    await eventually('outbox drained', () => m.host.link.outbox.depth === 0);
    await m.host.close();
  });

  it('the host killed with its request in the outbox: restarted, it resends; the approval finds no customer, nothing turns, vend-failed refunds; settled once', async () => {
    const first = await startMachine(station, { configVersion: version });
    open.push(first);
    const { phone } = await phoneOf(station, 'Ada');
    const ada0 = await balanceOf(station, 'Ada');
    let requestId = '';
    // Killed the moment the broker has the request: the result finds nobody listening.
    first.host.link.once('published', (p) => {
      requestId = (JSON.parse(p.body) as { requestId: string }).requestId;
      void first.host.link.abort();
    });
    await buy(first, phone, 'A1');
    await first.host.abort();
    expect(requestId).not.toBe('');
    expect(first.sim.relays.get('slot-a1')!.history()).toEqual([]);
    await eventually('the core settled while the host was dead', async () => (await station.gw.core.store.getJournalEntry({ deviceId, requestId }))?.state === 'withdrawn');

    const second = await startMachine(station, { dataDir: first.dataDir });
    open.push(second);
    await eventually('late approval refunded', async () => (await station.gw.core.store.getJournalEntry({ deviceId, requestId }))?.state === 'reversed');
    expect(second.program.report().lateRefunds).toBe(1);
    expect((await station.gw.core.store.getJournalEntry({ deviceId, requestId }))!.outcome).toBe('vend-failed');
    expect([...second.sim.relays.values()].every((r) => r.history().length === 0)).toBe(true);
    expect((await linesFor(requestId)).map((l) => l.amount)).toEqual([-150, 150]);
    expect(await balanceOf(station, 'Ada')).toBe(ada0);
    await eventually('outbox drained', () => second.host.link.outbox.depth === 0);
    // The machine sells normally afterwards.
    await buy(second, phone, 'A1');
    expect(machineLast(second)).toMatchObject({ slot: 'A1', outcome: 'dispensed' });
  });
});
