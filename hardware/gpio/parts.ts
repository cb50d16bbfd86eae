import type { DigitalInputKind } from '../digital-input.ts';
import { DebouncedInput } from './debounced-input.ts';
import { GpioError, checkIntegerOption } from './errors.ts';
import type { J5Board, J5Led, JohnnyFive } from './j5.ts';
import { RelayController } from './relay-controller.ts';

/** Electrical level that means "on": many Pi relay modules and all pull-up inputs are active-low. */
export type ActiveLevel = 'high' | 'low';

export interface RelayPinOptions {
  name: string;
  pin: number;
  /** Level that energises the relay coil; default 'high'. */
  activeLevel?: ActiveLevel;
  pulseMsMax?: number;
}

export interface InputPinOptions {
  name: string;
  kind: DigitalInputKind;
  pin: number;
  /** Level that means active (article seen, beam broken, door open); default 'low' (pull-up wiring). */
  activeLevel?: ActiveLevel;
  /** Enable the board's internal pull-up; default true. */
  pullUp?: boolean;
  debounceMs?: number;
}

export interface LedPinOptions {
  name: string;
  pin: number;
}

/** A status LED on the cabinet (ready / busy / fault). Not a contract part: a thin j5 Led wrapper. */
export interface StatusLed {
  readonly name: string;
  readonly isOn: boolean;
  on(): void;
  off(): void;
  blink(periodMs: number): void;
  dispose(): void;
}

/** Largest pin number we accept: no supported board has more GPIO lines. */
const pinMax = 255;
/** Blink periods outside this are either invisible flicker or indistinguishable from steady. */
const blinkPeriodMsMin = 50;
const blinkPeriodMsMax = 10_000;

export function makeJ5Relay(five: JohnnyFive, board: J5Board, options: RelayPinOptions): RelayController {
  const pin = checkIntegerOption(`relay ${options.name}: pin`, options.pin, 0, pinMax);
  // j5 Relay never sets the pin mode (it relies on StandardFirmata's boot default); set it ourselves so every IO plugin drives the pin.
  board.io.pinMode(pin, board.io.MODES.OUTPUT);
  // j5 Relay type 'NC' just inverts the level written by close(): that is our active-low.
  const relay = new five.Relay({ pin, type: options.activeLevel === 'low' ? 'NC' : 'NO', board });
  // Our 'open' (actuated) energises the coil, which j5 calls closing the circuit.
  const drive = (state: 'open' | 'closed'): void => {
    if (state === 'open') relay.close();
    else relay.open();
  };
  return new RelayController(drive, options.pulseMsMax === undefined ? { name: options.name } : { name: options.name, pulseMsMax: options.pulseMsMax });
}

/**
 * A DigitalInput on a j5 Switch. Switch rather than Button: Button starts a
 * 'hold' interval on every press that nothing outside it can clear (a door
 * left open would keep a timer alive past close()), and Sensor polls at a
 * fixed period and would miss a short drop pulse. Switch reports every
 * change through a 5 ms debounce of its own; ours (debounceMs) runs after it.
 *
 * Resolves once the first reading arrived, so `value` is true from the start;
 * rejects with TS_ERR_GPIO_BOARD_TIMEOUT when the board never reports the pin.
 */
export function makeJ5Input(five: JohnnyFive, board: J5Board, options: InputPinOptions, firstReadingTimeoutMs: number): Promise<DebouncedInput> {
  const pin = checkIntegerOption(`input ${options.name}: pin`, options.pin, 0, pinMax);
  const activeLevel = options.activeLevel ?? 'low';
  // type 'NO' makes j5 write HIGH to the input, which switches the pull-up on; invert:false makes isClosed mean "reads 1".
  const input = new five.Switch({ pin, type: options.pullUp === false ? 'NC' : 'NO', invert: false, board });
  const isActive = (): boolean => input.isClosed === (activeLevel === 'high');
  return new Promise((resolve, reject) => {
    let debounced: DebouncedInput | null = null;
    const timer = setTimeout(() => {
      input.removeAllListeners();
      reject(new GpioError('TS_ERR_GPIO_BOARD_TIMEOUT', `input ${options.name}: pin ${pin} gave no reading within ${firstReadingTimeoutMs} ms`));
    }, firstReadingTimeoutMs);
    const onReading = (): void => {
      if (debounced !== null) {
        debounced.feed(isActive());
        return;
      }
      clearTimeout(timer);
      const settings = { name: options.name, kind: options.kind, initial: isActive() };
      try {
        debounced = new DebouncedInput(options.debounceMs === undefined ? settings : { ...settings, debounceMs: options.debounceMs }, () => input.removeAllListeners());
        resolve(debounced);
      } catch (error) {
        input.removeAllListeners();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    input.on('open', onReading);
    input.on('close', onReading);
  });
}

export function makeJ5Led(five: JohnnyFive, board: J5Board, options: LedPinOptions): StatusLed {
  const pin = checkIntegerOption(`led ${options.name}: pin`, options.pin, 0, pinMax);
  const led: J5Led = new five.Led({ pin, board });
  let disposed = false;
  const live = (): void => {
    if (disposed) throw new GpioError('TS_ERR_GPIO_DISPOSED', `led ${options.name} was disposed`);
  };
  return {
    name: options.name,
    get isOn() {
      return led.isOn;
    },
    on() {
      live();
      led.stop();
      led.on();
    },
    off() {
      live();
      led.stop();
      led.off();
    },
    blink(periodMs) {
      live();
      led.blink(checkIntegerOption(`led ${options.name}: blink period`, periodMs, blinkPeriodMsMin, blinkPeriodMsMax));
    },
    dispose() {
      if (disposed) return;
      led.stop();
      led.off();
      disposed = true;
    },
  };
}
