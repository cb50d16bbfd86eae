/**
 * Fault tests of the exit gate: the gateway unreachable during a tap, with
 * the offline policy both ways (refuse: stays closed, nothing charged;
 * accept: opens within the per-wallet limits, settles exactly once when the
 * gateway is back, a declined offline debt deny-lists the wallet); a forged
 * result on the device's topic (stays closed), and the real approval that
 * comes after the gate refused (refunded with `not-passed`).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resultTag, topics } from '../../../protocol/index.ts';
import type { SettleRequest, SettleResult } from '../../../protocol/index.ts';
import type { RunningGateway } from '../../../gateway/gateway.ts';
import { eventually, startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { opens, phoneOf, startGate, stopGateway, tap } from './gate-fixtures.ts';
import type { GateUnderTest } from './gate-fixtures.ts';

let station: TestStation;
/** The gateway now running (it is stopped and started again here; station.gw is the first one). */
let gw: RunningGateway;
let gate: GateUnderTest | null = null;

beforeAll(async () => {
  station = await startTestStation();
  gw = station.gw;
}, 30_000);

afterAll(async () => {
  await gate?.host.close();
  if (gw !== station.gw) await gw.close();
  await station?.close().catch(() => undefined);
});

const balance = async (name: string) => (await gw.core.store.getAccount(station.demo.wallets.find((w) => w.name === name)!.account))!.balance;

async function exitGate(offline: Record<string, unknown>): Promise<GateUnderTest> {
  await gate?.host.close();
  gate = await startGate(station, 'gate-exit-1', { mode: 'exit', stationId: 'harbour', offline }, { via: gw });
  return gate;
}

/** Stops the gateway; the function returned starts it again and waits for `wait`'s link (none: do not wait). */
async function gatewayDown(g: GateUnderTest): Promise<(wait?: GateUnderTest | null) => Promise<void>> {
  const start = await stopGateway(station, gw);
  await eventually('link down', () => !g.host.link.connected);
  return async (wait: GateUnderTest | null = g) => {
    gw = await start();
    if (wait !== null) await eventually('link up', () => wait.host.link.connected, 10_000);
  };
}

describe('gate: gateway unreachable during a tap', () => {
  it('policy refuse: the gate stays closed, nothing is written or charged', async () => {
    const g = await exitGate({ policy: 'refuse' });
    const ben = await phoneOf(station, 'Ben');
    const before = await balance('Ben');
    const up = await gatewayDown(g);
    expect(await tap(g, ben)).toMatchObject({ result: 'refused', why: 'no-result' });
    expect(opens(g)).toBe(0);
    expect(g.host.link.outbox.depth).toBe(0);
    await up();
    expect(await balance('Ben')).toBe(before);
  }, 20_000);

  it('policy accept: opens within the wallet limits, settles once when the gateway is back; a declined debt deny-lists the wallet', async () => {
    const g = await exitGate({ policy: 'accept', amountMaxMinor: 1000, countMax: 1 });
    const events = vi.spyOn(g.host.link, 'event');
    const ada = await phoneOf(station, 'Ada');
    const eve = await phoneOf(station, 'Eve'); // balance 0: her debt will be declined
    const adaBefore = await balance('Ada');
    const eveBefore = await balance('Eve');
    const up = await gatewayDown(g);

    expect(await tap(g, ada)).toMatchObject({ result: 'opened', passage: 'passed', why: 'offline 500 EUR' });
    expect(await tap(g, ada)).toMatchObject({ result: 'refused', why: 'offline-limit' }); // countMax 1
    expect(await tap(g, eve)).toMatchObject({ result: 'opened', why: 'offline 500 EUR' });
    expect(opens(g)).toBe(2);
    const pending = g.host.link.outbox.pending().filter((e) => e.kind === 'settle');
    expect(pending).toHaveLength(2);
    for (const e of pending) expect((JSON.parse(e.body) as SettleRequest).offline).toBe(true);

    await up();
    await eventually('offline debts settled and outcomes acknowledged', () => g.host.link.outbox.depth === 0, 10_000);
    expect(await balance('Ada')).toBe(adaBefore - 500); // exactly once
    expect(await balance('Eve')).toBe(eveBefore);
    expect(g.program.report()).toMatchObject({ offlineAccepted: 2, offlineSettled: 1, denyListed: 1, localDenied: 1, undecided: 0 });
    expect(events.mock.calls.some(([kind, detail]) => kind === 'deny-listed' && String(detail).startsWith(eve.holdings.walletId))).toBe(true);

    // Online again: Eve is refused by the gate itself; Ada pays normally.
    expect(await tap(g, eve)).toMatchObject({ result: 'refused', why: 'deny-listed' });
    expect(await tap(g, ada)).toMatchObject({ result: 'opened', why: 'fare 500 EUR' });
    await eventually('drained', () => g.host.link.outbox.depth === 0);
    expect(await balance('Ada')).toBe(adaBefore - 1000);
  }, 30_000);

  it('the offline decisions survive a restart of the host: the late answers are still acted on', async () => {
    const g = await exitGate({ policy: 'accept', amountMaxMinor: 1000, countMax: 2 });
    const cleo = await phoneOf(station, 'Cleo');
    const before = await balance('Cleo');
    const up = await gatewayDown(g);
    expect(await tap(g, cleo)).toMatchObject({ result: 'opened', why: 'offline 500 EUR' });
    const dataDir = g.dataDir;
    await g.host.abort(); // a crash with the debt in the outbox
    gate = null;
    await up(null); // the old host is gone; its successor connects below
    gate = await startGate(station, 'gate-exit-1', { mode: 'exit', stationId: 'harbour', offline: { policy: 'accept' } }, { dataDir, via: gw });
    await eventually('debt settled after the restart', () => gate!.host.link.outbox.depth === 0, 10_000);
    expect(await balance('Cleo')).toBe(before - 500);
    expect(gate.program.report()).toMatchObject({ offlineSettled: 1, undecided: 0 });
  }, 30_000);
});

describe('gate: forged and late results', () => {
  it('a forged result on the device topic never opens the gate; the real approval that comes late is refunded', async () => {
    const g = await exitGate({ policy: 'refuse' });
    const dev = await phoneOf(station, 'Dev');
    const before = await balance('Dev');
    // Hold the core's answer: the request waits while a forger answers first.
    const realSettle = gw.core.settle.bind(gw.core);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => { release = r; });
    const seen: string[] = [];
    const spy = vi.spyOn(gw.core, 'settle').mockImplementation(async (deviceId, payload) => {
      const req = JSON.parse(Buffer.from(payload as Uint8Array).toString('utf8')) as SettleRequest;
      seen.push(req.requestId);
      const forged: SettleResult = {
        v: 1, type: 'result', requestId: req.requestId, sentAt: Date.now(), deviceId, status: 'approved', amount: req.purchase.amount,
        tag: resultTag(randomBytes(32), { deviceId, requestId: req.requestId, status: 'approved', amount: req.purchase.amount }),
      };
      await gw.broker.publish(topics.result(deviceId), JSON.stringify(forged), { qos: 1, retain: false });
      await held;
      return realSettle(deviceId, payload);
    });
    try {
      const t = await tap(g, dev);
      expect(t).toMatchObject({ result: 'refused', why: 'no-result' });
      expect(opens(g)).toBe(0);
      expect(g.host.link.state().stats.rejected['bad-tag']).toBeGreaterThanOrEqual(1);
      expect(seen).toHaveLength(1);
      release();
      // The core approves after the gate refused: the gate answers not-passed and the core refunds.
      await eventually('late approval refunded', () => g.host.link.outbox.depth === 0, 10_000);
      expect(g.program.report()).toMatchObject({ lateRefunds: 1, undecided: 0 });
      expect(await balance('Dev')).toBe(before);
      expect(opens(g)).toBe(0);
    } finally {
      release();
      spy.mockRestore();
    }
  }, 20_000);
});
