import { EventEmitter } from 'node:events';
import type { Relay, RelayState } from '../relay.ts';
import { relayPulseMsCeiling, relayPulseMsDefault } from '../relay.ts';
import { GpioError, checkIntegerOption } from './errors.ts';

/** What a concrete relay must be able to do: drive its output to open (actuated) or closed (rest). */
export type RelayDrive = (state: RelayState) => void;

export interface RelayControllerOptions {
  name: string;
  pulseMsMax?: number;
}

/**
 * The timing and safety logic every Relay shares — bounded pulses, the
 * automatic close, one pulse at a time — over a `drive` function that touches
 * the hardware (a johnny-five Relay) or nothing (the simulated relay). Keeping
 * it in one place means the contract suite tests the same rules everywhere.
 */
export class RelayController extends EventEmitter<{ change: [RelayState] }> implements Relay {
  readonly name: string;
  readonly pulseMsMax: number;
  #state: RelayState = 'closed';
  #closeTimer: NodeJS.Timeout | null = null;
  #pulseDone: (() => void) | null = null;
  #disposed = false;
  readonly #drive: RelayDrive;

  constructor(drive: RelayDrive, options: RelayControllerOptions) {
    super();
    if (options.name.length === 0) throw new GpioError('TS_ERR_GPIO_BAD_OPTION', 'relay name must not be empty');
    this.name = options.name;
    this.pulseMsMax = checkIntegerOption(`relay ${options.name}: pulseMsMax`, options.pulseMsMax ?? relayPulseMsDefault, 1, relayPulseMsCeiling);
    this.#drive = drive;
    // Put the output in a known rest state: after a reboot the pin may be anything.
    drive('closed');
  }

  get state(): RelayState {
    return this.#state;
  }

  open(): void {
    this.#assertLive();
    this.#openFor(this.pulseMsMax);
  }

  close(): void {
    this.#assertLive();
    this.#closeNow();
  }

  pulse(ms: number): Promise<void> {
    if (this.#disposed) return Promise.reject(disposedError(this.name));
    if (!Number.isInteger(ms) || ms < 1 || ms > this.pulseMsMax) {
      return Promise.reject(new GpioError('TS_ERR_GPIO_PULSE_RANGE', `relay ${this.name}: pulse of ${String(ms)} ms outside 1..${this.pulseMsMax} ms`));
    }
    if (this.#pulseDone !== null) {
      return Promise.reject(new GpioError('TS_ERR_GPIO_RELAY_BUSY', `relay ${this.name}: a pulse is already running`));
    }
    return new Promise((resolve) => {
      this.#pulseDone = resolve;
      this.#openFor(ms);
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#closeNow();
    this.#disposed = true;
    this.removeAllListeners();
  }

  #openFor(ms: number): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(() => this.#closeNow(), ms);
    this.#set('open');
  }

  #closeNow(): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
    this.#set('closed');
    const done = this.#pulseDone;
    this.#pulseDone = null;
    done?.();
  }

  #set(state: RelayState): void {
    // Drive even when unchanged: re-asserting the level is harmless and heals a pin someone else wrote.
    this.#drive(state);
    if (state === this.#state) return;
    this.#state = state;
    this.emit('change', state);
  }

  #assertLive(): void {
    if (this.#disposed) throw disposedError(this.name);
  }
}

function disposedError(name: string): GpioError {
  return new GpioError('TS_ERR_GPIO_DISPOSED', `relay ${name} was disposed`);
}
