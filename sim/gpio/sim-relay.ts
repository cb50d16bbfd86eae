import type { RelayState } from '../../hardware/relay.ts';
import type { RelayControllerOptions } from '../../hardware/gpio/relay-controller.ts';
import { RelayController } from '../../hardware/gpio/relay-controller.ts';

/** Transitions kept for a dashboard or a test: a few minutes of a busy gate. */
export const simRelayHistoryLengthMax = 256;

export interface RelayTransition {
  state: RelayState;
  atMs: number;
}

/**
 * A relay with no board under it: the same RelayController rules (bounded
 * pulses, automatic close) driving an in-memory coil. For stations of many
 * simulated devices, where a johnny-five board per device would be waste,
 * and for tests of device hosts that only care what the relay did.
 */
export class SimRelay extends RelayController {
  readonly #coil: { energised: boolean };
  readonly #history: RelayTransition[] = [];

  constructor(options: RelayControllerOptions) {
    const coil = { energised: false };
    super((state) => {
      coil.energised = state === 'open';
    }, options);
    this.#coil = coil;
    this.on('change', (state) => {
      this.#history.push({ state, atMs: Date.now() });
      if (this.#history.length > simRelayHistoryLengthMax) this.#history.shift();
    });
  }

  /** What the coil is doing now: true while the relay is open (actuated). */
  get energised(): boolean {
    return this.#coil.energised;
  }

  /** The last transitions, oldest first (at most simRelayHistoryLengthMax). */
  history(): readonly RelayTransition[] {
    return [...this.#history];
  }
}
