/**
 * The dashboard in a real browser (issue 6, item 5): Debian's chromium,
 * driven headless by playwright-core, against the real simulated station
 * (`tapsettle start`'s wiring, in this process: every device a real host on
 * simulated parts). A phone taps in at the entry gate and out
 * at the exit gate: the page shows each gate open, then closed, and the
 * balance drop by the fare. A vend turns the spiral and shows `dispensed`.
 * The screenshot goes to test-artifacts/dashboard.png.
 *
 * Needs TAPSETTLE_CHROMIUM (.ci/run sets it); skips with the reason otherwise.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colaPriceMinor, exitFareMinor, extraDashboard, maxFareMinor, startDashboardGateway } from './fixtures.ts';
import type { DashboardGateway } from './fixtures.ts';
import { chromiumSkipReason, openDashboard, waitMs } from './page-object.ts';
import type { DashboardPage } from './page-object.ts';

const skipReason = chromiumSkipReason();
if (skipReason !== null) console.warn(`browser.test.ts skipped: ${skipReason}`);
const artifacts = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');

describe.skipIf(skipReason !== null)('dashboard in chromium', () => {
  let station: DashboardGateway;
  let dashboard: DashboardPage;

  beforeAll(async () => {
    station = await startDashboardGateway({ station: true });
    dashboard = await openDashboard(station.url);
  });
  afterAll(async () => {
    await dashboard?.close();
    await station?.close();
  });

  it('shows every device and the phones', async () => {
    expect(await dashboard.presence('gate-entry-1')).toBe('online');
    expect(await dashboard.presence('kiosk-1')).toBe('online');
    expect(await dashboard.deviceRelay('gate-entry-1')).toBe('closed');
    expect(await dashboard.balance('Ada')).toBe(10_000);
  });

  it('taps in at the entry gate and out at the exit gate: each gate opens and closes, the balance drops by the fare', async () => {
    const before = await dashboard.balance('Ada');
    const entryOpens = dashboard.waitForRelay('gate-entry-1', 'open');
    expect(await dashboard.tap('Ada', 'gate-entry-1')).toBe('opened: entered at central');
    await entryOpens;
    await dashboard.waitForRelay('gate-entry-1', 'closed');
    await expect.poll(() => dashboard.admission('Ada'), { timeout: waitMs }).toMatch(/^in at central \(gate-entry-1\) since \d\d:\d\d$/);

    const exitOpens = dashboard.waitForRelay('gate-exit-1', 'open').then(() => dashboard.relayLabel('gate-exit-1'));
    expect(await dashboard.tap('Ada', 'gate-exit-1')).toBe(`opened: fare ${(exitFareMinor / 100).toFixed(2)} EUR, passed`);
    expect(await exitOpens).toBe('OPEN');
    await expect.poll(() => dashboard.balance('Ada'), { timeout: waitMs }).toBe(before - exitFareMinor);
    await expect.poll(async () => (await dashboard.settlements())[0], { timeout: waitMs }).toEqual({ deviceId: 'gate-exit-1', status: 'approved', outcome: 'passed' });
    await dashboard.waitForRelay('gate-exit-1', 'closed');
  });

  it('buys from the vending machine: the spiral turns and the article is dispensed', async () => {
    const before = await dashboard.balance('Ben');
    const turns = dashboard.waitForRelay('vending-1', 'open').then(() => dashboard.relayLabel('vending-1'));
    expect(await dashboard.tap('Ben', 'vending-1')).toBe(`approved ${(colaPriceMinor / 100).toFixed(2)} EUR cola-330: dispensed`);
    expect(await turns).toBe('turning');
    await expect.poll(async () => (await dashboard.settlements())[0], { timeout: waitMs }).toEqual({ deviceId: 'vending-1', status: 'approved', outcome: 'dispensed' });
    await expect.poll(() => dashboard.balance('Ben'), { timeout: waitMs }).toBe(before - colaPriceMinor);
    mkdirSync(artifacts, { recursive: true });
    await dashboard.screenshot(join(artifacts, 'dashboard.png'));
  });

  it('jams a slot and cuts a gate off and back on from the device cards', async () => {
    expect(await dashboard.jam('vending-1', 'A2')).toBe('slot A2 jammed: its next vend drops nothing');
    expect(await dashboard.cut('gate-entry-1')).toBe('gate-entry-1 cut off');
    await expect.poll(() => dashboard.presence('gate-entry-1'), { timeout: waitMs }).toBe('cut off');
    expect(await dashboard.tap('Cleo', 'gate-entry-1')).toBe('TS_ERR_DASHBOARD_ACTION_FAILED: gate-entry-1 is cut off; reconnect it first');
    expect(await dashboard.cut('gate-entry-1')).toBe('gate-entry-1 reconnected');
    await expect.poll(() => dashboard.presence('gate-entry-1'), { timeout: waitMs }).toBe('online');
  });

  it('reconnects its stream by itself when the gateway ends it, and is live again', async () => {
    // A second dashboard on the same station, whose streams the test can end.
    const extra = await extraDashboard(station.gw, {}, station.station ?? undefined);
    const second = await openDashboard(`${extra.url}/dashboard`);
    try {
      extra.dash.streams.closeAll();
      await expect.poll(() => second.streamStatus(), { timeout: waitMs }).toBe('reconnecting');
      await expect.poll(() => second.streamStatus(), { timeout: waitMs }).toBe('live');
      const before = await second.balance('Dev');
      // Dev never entered: the exit charges the maximum fare.
      expect(await second.tap('Dev', 'gate-exit-1')).toBe(`opened: fare ${(maxFareMinor / 100).toFixed(2)} EUR, passed`);
      await expect.poll(() => second.balance('Dev'), { timeout: waitMs }).toBe(before - maxFareMinor);
      expect(second.errors).toEqual([]);
    } finally {
      await second.close();
      await extra.close();
    }
  });

  it('ran without a console error or a CSP violation', () => {
    // Chromium logs every non-2xx fetch; the one 409 is the tap on the cut-off gate above.
    expect(dashboard.errors.filter((e) => !e.includes('status of 409 (Conflict)'))).toEqual([]);
    expect(dashboard.errors).toHaveLength(1);
  });
});
