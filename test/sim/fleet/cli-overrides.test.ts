/** `tapsettle sim fleet` options: overrides land in the scenario; wrong ones are usage errors naming the option. */
import { describe, expect, it } from 'vitest';
import { applyOverrides } from '../../../cli/commands/sim-fleet.ts';
import { CliError } from '../../../cli/output.ts';
import { loadScenario, resolveScenario } from '../../../sim/fleet/scenario.ts';

const base = loadScenario(resolveScenario('rush-hour'));

function usage(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).code).toBe('TS_ERR_CLI_ARG');
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('sim fleet options', () => {
  it('devices, taps, faults and events on demand are applied to a copy', () => {
    const s = applyOverrides(base, { devices: '3', taps: '12', drop: '0.1', duplicate: '0.25', restartAt: '5', awayAt: '7', awayMs: '2000', jam: 'A1' });
    expect(s.devices).toEqual({ gate: 3, vending: 3, kiosk: 3, pos: 3 });
    expect(s.taps.count).toBe(12);
    expect(s.faults).toEqual({ drop: 0.1, duplicate: 0.25, delay: 0, delayMs: 200 });
    expect(s.events).toEqual([
      { action: 'gateway-restart', atTap: 5 },
      { action: 'gateway-away', atTap: 7, forMs: 2000 },
      { action: 'jam', atTap: 0, slot: 'A1' },
    ]);
    expect(base.devices.gate).toBe(8);
    expect(base.events).toEqual([]);
  });

  it.each([
    [{ drop: '2' }, '--drop'],
    [{ duplicate: 'often' }, '--duplicate'],
    [{ devices: '0' }, '--devices'],
    [{ devices: '2501' }, '--devices'],
    [{ taps: '-3' }, '--taps'],
    [{ awayMs: '9999999' }, '--away-ms'],
    [{ jam: 'Z9' }, '--jam'],
  ])('%o is refused naming %s', (o, name) => {
    expect(usage(() => applyOverrides(base, o))).toContain(name);
  });
});
