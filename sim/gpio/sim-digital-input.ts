import type { DebouncedInputOptions } from '../../hardware/gpio/debounced-input.ts';
import { DebouncedInput } from '../../hardware/gpio/debounced-input.ts';
import { checkIntegerOption } from '../../hardware/gpio/errors.ts';
import { inputPulseMsMax } from './board.ts';

/**
 * A drop sensor, passage sensor or door switch with no board under it: the
 * same debounce as the real input, fed by a test or a scenario. set() is the
 * raw (undebounced) level, as the sensor would produce it.
 */
export class SimDigitalInput extends DebouncedInput {
  /** Running pulses: their timers, and how to settle their promises if disposed first. */
  readonly #timers = new Map<NodeJS.Timeout, () => void>();

  constructor(options: DebouncedInputOptions) {
    super(options);
  }

  /** The sensor's raw state: true = active. */
  set(active: boolean): void {
    this.feed(active);
  }

  /** Active for `ms`, then inactive: an article falling, a person crossing. Resolves when released. */
  pulse(ms: number): Promise<void> {
    checkIntegerOption(`input ${this.name}: pulse length`, ms, 1, inputPulseMsMax);
    this.set(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.set(false);
        resolve();
      }, ms);
      this.#timers.set(timer, resolve);
    });
  }

  override dispose(): void {
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer);
      resolve();
    }
    this.#timers.clear();
    super.dispose();
  }
}
