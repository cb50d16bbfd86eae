/**
 * Whole fleet runs (DESIGN §11, deterministic simulation): a real gateway and
 * real hosts of each kind on simulated parts. One seed gives the same summary
 * counts twice; a run with dropped and duplicated messages and a gateway
 * restart ends with the audit passing and every approved settlement withdrawn
 * exactly once.
 */
import { describe, expect, it } from 'vitest';
import { startEmbeddedFleetGateway } from '../../../cli/commands/sim-fleet.ts';
import { runFleet } from '../../../sim/fleet/fleet.ts';
import { planTaps } from '../../../sim/fleet/plan.ts';
import { parseScenario } from '../../../sim/fleet/scenario.ts';
import { formatSummary, replayable } from '../../../sim/fleet/summary.ts';

const small = parseScenario({
  name: 'small-mixed',
  devices: { gate: 2, vending: 2, kiosk: 2, pos: 2 },
  phones: { count: 8, fundsMinor: 1_000, noFunds: 1, denyListed: 1 },
  taps: { count: 24, concurrentMax: 4 },
  vending: { slots: [{ slot: 'A1', priceMinor: 150, capacity: 2, weight: 3 }, { slot: 'A2', priceMinor: 200 }] },
  events: [{ action: 'jam', atTap: 12, slot: 'A2' }],
});

describe('fleet runs', () => {
  it('the same seed plans the same taps; another seed plans others', () => {
    expect(planTaps(small, 9)).toEqual(planTaps(small, 9));
    expect(planTaps(small, 10)).not.toEqual(planTaps(small, 9));
  });

  it('a seeded run of 2 devices of each kind: the same summary for the same seed, the audit passes', async () => {
    const a = await runFleet({ scenario: small, seed: 9, startGateway: startEmbeddedFleetGateway, mode: 'light' });
    const b = await runFleet({ scenario: small, seed: 9, startGateway: startEmbeddedFleetGateway, mode: 'light' });
    expect(replayable(b)).toEqual(replayable(a));
    expect(a.taps).toBe(24);
    expect(a.approved + Object.values(a.declined).reduce((x, y) => x + y, 0) + a.offlineAccepted + Object.values(a.noAnswer).reduce((x, y) => x + y, 0)).toBe(24);
    expect(a.approved).toBeGreaterThan(0);
    expect(a.ledger).toMatchObject({ auditOk: true, settledOnceViolations: 0, tapsWithoutEntry: 0 });
    expect(a.tapToResultMs.n).toBeGreaterThan(0);
    expect(formatSummary(a)).toContain('ledger audit     passed');
  }, 120_000);

  it('with dropped and duplicated messages and a gateway restart: the audit passes and every approved tap is settled exactly once', async () => {
    const s = parseScenario({
      name: 'faults',
      devices: { gate: 2, vending: 1, kiosk: 1, pos: 1 },
      phones: { count: 6, fundsMinor: 5_000 },
      taps: { count: 30, concurrentMax: 5 },
      faults: { drop: 0.1, duplicate: 0.2 },
      events: [{ action: 'gateway-restart', atTap: 15 }],
    });
    const r = await runFleet({ scenario: s, seed: 3, startGateway: startEmbeddedFleetGateway, mode: 'light' });
    expect(r.gatewayRestarts).toBe(1);
    expect(r.faults!.dropped).toBeGreaterThan(0);
    expect(r.faults!.duplicated).toBeGreaterThan(0);
    expect(r.taps).toBe(30);
    expect(r.approved).toBeGreaterThan(0);
    expect(r.ledger.auditOk).toBe(true);
    expect(r.ledger.settledOnceViolations).toBe(0);
    expect(r.ledger.tapsWithoutEntry).toBe(0);
  }, 180_000);
});
