import { afterEach, describe, expect, it } from 'vitest';
import type { Relay, RelayState } from '../../../hardware/relay.ts';
import { record, sleep, until } from './wait.ts';

export interface RelayHarness {
  relay: Relay;
  /**
   * What the hardware under the relay does (coil energised?), if the
   * implementation lets us see it. It may follow the state a little later (a
   * Firmata board hears of it over serial), so the contract waits for it.
   */
  energised?: () => boolean;
  cleanup: () => Promise<void>;
}

export type MakeRelay = (options: { name: string; pulseMsMax: number }) => Promise<RelayHarness>;

/** Short enough for a fast suite, long enough that timer jitter cannot reorder events. */
const pulseMs = 30;
const pulseMsMax = 200;

/** Waits (bounded) until the coil reads `expected`. */
async function coil(energised: () => boolean, expected: boolean): Promise<void> {
  await until(() => energised() === expected, coilFollowMsMax, `coil energised=${String(expected)}`);
}

/** How long the coil may lag the state: a few serial round trips at most. */
const coilFollowMsMax = 500;

/** The rules every Relay keeps (hardware/relay.ts), run against one implementation. */
export function relayContract(label: string, makeRelay: MakeRelay): void {
  describe(`Relay contract: ${label}`, () => {
    let harness: RelayHarness | null = null;
    const make = async (max = pulseMsMax): Promise<RelayHarness> => {
      harness = await makeRelay({ name: 'slot-a1', pulseMsMax: max });
      return harness;
    };
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    it('starts closed, with the coil at rest', async () => {
      const { relay, energised } = await make();
      expect(relay.state).toBe('closed');
      expect(relay.name).toBe('slot-a1');
      expect(relay.pulseMsMax).toBe(pulseMsMax);
      if (energised) await coil(energised, false);
    });

    it('open() and close() switch the state and the coil, one change event each', async () => {
      const { relay, energised } = await make();
      const changes = record<RelayState>(relay, 'change');
      relay.open();
      relay.open();
      expect(relay.state).toBe('open');
      if (energised) await coil(energised, true);
      relay.close();
      relay.close();
      expect(relay.state).toBe('closed');
      if (energised) await coil(energised, false);
      expect(changes).toEqual(['open', 'closed']);
    });

    it('pulse(ms) opens, then resolves once closed again after ms', async () => {
      const { relay, energised } = await make();
      const changes = record<RelayState>(relay, 'change');
      const started = performance.now();
      const done = relay.pulse(pulseMs);
      expect(relay.state).toBe('open');
      if (energised) await coil(energised, true);
      await done;
      expect(performance.now() - started).toBeGreaterThanOrEqual(pulseMs - 1);
      expect(relay.state).toBe('closed');
      if (energised) await coil(energised, false);
      expect(changes).toEqual(['open', 'closed']);
    });

    it('refuses pulses outside 1..pulseMsMax without moving', async () => {
      const { relay } = await make();
      const changes = record<RelayState>(relay, 'change');
      for (const bad of [0, -5, 1.5, Number.NaN, pulseMsMax + 1, Number.POSITIVE_INFINITY]) {
        await expect(relay.pulse(bad)).rejects.toMatchObject({ code: 'TS_ERR_GPIO_PULSE_RANGE' });
      }
      expect(relay.state).toBe('closed');
      expect(changes).toEqual([]);
    });

    it('refuses a second pulse while one runs, and the first completes', async () => {
      const { relay } = await make();
      const first = relay.pulse(pulseMs);
      await expect(relay.pulse(pulseMs)).rejects.toMatchObject({ code: 'TS_ERR_GPIO_RELAY_BUSY' });
      await first;
      expect(relay.state).toBe('closed');
      await relay.pulse(1);
    });

    it('close() ends a pulse early and its promise resolves', async () => {
      const { relay } = await make();
      const started = performance.now();
      const done = relay.pulse(pulseMsMax);
      await sleep(5);
      relay.close();
      await done;
      expect(relay.state).toBe('closed');
      expect(performance.now() - started).toBeLessThan(pulseMsMax);
    });

    it('open() never lasts longer than pulseMsMax', async () => {
      const { relay, energised } = await make(40);
      relay.open();
      await until(() => relay.state === 'closed', 1_000, 'automatic close');
      if (energised) await coil(energised, false);
    });

    it('dispose() closes, settles a running pulse, then refuses everything; twice is fine', async () => {
      const { relay, energised } = await make();
      const done = relay.pulse(pulseMsMax);
      relay.dispose();
      await done;
      expect(relay.state).toBe('closed');
      if (energised) await coil(energised, false);
      relay.dispose();
      await expect(relay.pulse(pulseMs)).rejects.toMatchObject({ code: 'TS_ERR_GPIO_DISPOSED' });
      expect(() => relay.open()).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_DISPOSED' }));
    });
  });
}
