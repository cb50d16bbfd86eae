import { EventEmitter } from 'node:events';
import type { DigitalInput, DigitalInputKind } from '../digital-input.ts';
import { inputDebounceMsDefault, inputDebounceMsMax, inputDebounceMsMin } from '../digital-input.ts';
import { GpioError, checkIntegerOption } from './errors.ts';

export const digitalInputKinds: readonly DigitalInputKind[] = ['drop-sensor', 'passage-sensor', 'door-switch', 'tamper-switch'];

export interface DebouncedInputOptions {
  name: string;
  kind: DigitalInputKind;
  debounceMs?: number;
  /** The state known at creation (the first reading of the pin), accepted without debounce. */
  initial: boolean;
}

/**
 * The debounce every DigitalInput shares: fed raw readings (already mapped to
 * active/inactive), it accepts a new state only after it held for debounceMs.
 * A reading back to the accepted state inside the window cancels the change,
 * so a glitch shorter than debounceMs is never seen.
 */
export class DebouncedInput extends EventEmitter<{ change: [boolean] }> implements DigitalInput {
  readonly name: string;
  readonly kind: DigitalInputKind;
  readonly debounceMs: number;
  #accepted: boolean;
  #timer: NodeJS.Timeout | null = null;
  #disposed = false;
  readonly #onDispose: () => void;

  constructor(options: DebouncedInputOptions, onDispose: () => void = () => undefined) {
    super();
    if (options.name.length === 0) throw new GpioError('TS_ERR_GPIO_BAD_OPTION', 'input name must not be empty');
    if (!digitalInputKinds.includes(options.kind)) {
      throw new GpioError('TS_ERR_GPIO_BAD_OPTION', `input ${options.name}: kind must be one of ${digitalInputKinds.join(', ')}`);
    }
    this.name = options.name;
    this.kind = options.kind;
    this.debounceMs = checkIntegerOption(`input ${options.name}: debounceMs`, options.debounceMs ?? inputDebounceMsDefault, inputDebounceMsMin, inputDebounceMsMax);
    this.#accepted = options.initial;
    this.#onDispose = onDispose;
  }

  get value(): boolean {
    return this.#accepted;
  }

  /** One raw reading, true = active. Readings after dispose() are ignored. */
  feed(active: boolean): void {
    if (this.#disposed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (active === this.#accepted) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#accepted = active;
      this.emit('change', active);
    }, this.debounceMs);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.removeAllListeners();
    this.#onDispose();
  }
}
