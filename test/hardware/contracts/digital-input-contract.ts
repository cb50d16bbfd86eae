import { afterEach, describe, expect, it } from 'vitest';
import type { DigitalInput, DigitalInputKind } from '../../../hardware/digital-input.ts';
import { nextEvent, record, sleep } from './wait.ts';

export interface DigitalInputHarness {
  input: DigitalInput;
  /** Drives the raw (undebounced) physical state, through whatever path the implementation really reads. */
  drive: (active: boolean) => void;
  cleanup: () => Promise<void>;
}

export type MakeDigitalInput = (options: { name: string; kind: DigitalInputKind; debounceMs: number; initialActive: boolean }) => Promise<DigitalInputHarness>;

/**
 * Timings: the debounce is far longer than a glitch and far shorter than a
 * held level, so scheduler jitter on a busy machine cannot flip an outcome.
 */
const debounceMs = 30;
const glitchMs = 3;
const settleMs = debounceMs * 3;

/** The rules every DigitalInput keeps (hardware/digital-input.ts), run against one implementation. */
export function digitalInputContract(label: string, makeInput: MakeDigitalInput): void {
  describe(`DigitalInput contract: ${label}`, () => {
    let harness: DigitalInputHarness | null = null;
    const make = async (initialActive = false, kind: DigitalInputKind = 'drop-sensor'): Promise<DigitalInputHarness> => {
      harness = await makeInput({ name: 'drop-1', kind, debounceMs, initialActive });
      return harness;
    };
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    it('exposes its name, kind and debounceMs', async () => {
      const { input } = await make(false, 'door-switch');
      expect(input.name).toBe('drop-1');
      expect(input.kind).toBe('door-switch');
      expect(input.debounceMs).toBe(debounceMs);
    });

    it('starts with the physical state, inactive or active, without a change event', async () => {
      const idle = await make(false);
      expect(idle.input.value).toBe(false);
      await idle.cleanup();
      const held = await make(true);
      const changes = record<boolean>(held.input, 'change');
      expect(held.input.value).toBe(true);
      await sleep(settleMs);
      expect(changes).toEqual([]);
    });

    it('accepts a level held past debounceMs: one change each way', async () => {
      const { input, drive } = await make(false);
      const changes = record<boolean>(input, 'change');
      drive(true);
      expect(await nextEvent(input, 'change')).toEqual([true]);
      expect(input.value).toBe(true);
      drive(false);
      expect(await nextEvent(input, 'change')).toEqual([false]);
      expect(input.value).toBe(false);
      expect(changes).toEqual([true, false]);
    });

    it('ignores a glitch shorter than debounceMs', async () => {
      const { input, drive } = await make(false);
      const changes = record<boolean>(input, 'change');
      drive(true);
      await sleep(glitchMs);
      drive(false);
      await sleep(settleMs);
      expect(changes).toEqual([]);
      expect(input.value).toBe(false);
    });

    it('turns contact bounce into a single change', async () => {
      const { input, drive } = await make(false);
      const changes = record<boolean>(input, 'change');
      for (const active of [true, false, true, false, true]) {
        drive(active);
        await sleep(1);
      }
      await nextEvent(input, 'change');
      await sleep(settleMs);
      expect(changes).toEqual([true]);
      expect(input.value).toBe(true);
    });

    it('dispose() stops events, freezes value, and may be called twice', async () => {
      const { input, drive } = await make(false);
      input.dispose();
      input.dispose();
      // Listen after dispose: anything emitted from now on would be a leak.
      const changes = record<boolean>(input, 'change');
      drive(true);
      await sleep(settleMs);
      expect(changes).toEqual([]);
      expect(input.value).toBe(false);
    });
  });
}
