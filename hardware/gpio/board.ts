import type { DigitalInput } from '../digital-input.ts';
import type { Relay } from '../relay.ts';
import type { GpioBackendConfig, OpenedBackend } from './backends.ts';
import { openBackend } from './backends.ts';
import { DebouncedInput } from './debounced-input.ts';
import { GpioError, checkIntegerOption } from './errors.ts';
import type { J5Board, JohnnyFive } from './j5.ts';
import { clearFirmataHandshake, forgetBoard, loadJohnnyFive } from './j5.ts';
import type { InputPinOptions, LedPinOptions, RelayPinOptions, StatusLed } from './parts.ts';
import { makeJ5Input, makeJ5Led, makeJ5Relay } from './parts.ts';

export interface GpioBoardOptions {
  /** How long the board may take to connect and handshake. */
  readyTimeoutMs?: number;
  /** How long a new input may take to report its first level. */
  firstReadingTimeoutMs?: number;
}

/**
 * Default handshake wait: firmata asks an Arduino for its version only after
 * 5 s of silence (a Leonardo does not reset on open), then queries pins.
 */
export const boardReadyTimeoutMsDefault = 10_000;
const boardReadyTimeoutMsMax = 60_000;
/** Extra time given to j5's own connect watchdog beyond ours. */
const j5WatchdogMarginMs = 1_000;
/** A board answers a pin report in milliseconds; one second means it never will. */
export const firstReadingTimeoutMsDefault = 1_000;

/**
 * A johnny-five board on the IO backend named in config, and the parts on it.
 * Parts are handed out as our interfaces (Relay, DigitalInput, StatusLed);
 * close() disposes them all — relays back to rest first — then releases the
 * backend (closes the serial port or the GPIO lines).
 */
export class GpioBoard {
  readonly backend: GpioBackendConfig['backend'];
  readonly #five: JohnnyFive;
  readonly #board: J5Board;
  readonly #opened: OpenedBackend;
  readonly #firstReadingTimeoutMs: number;
  readonly #parts: { dispose(): void }[] = [];
  #closed = false;

  private constructor(five: JohnnyFive, board: J5Board, opened: OpenedBackend, backend: GpioBackendConfig['backend'], firstReadingTimeoutMs: number) {
    this.#five = five;
    this.#board = board;
    this.#opened = opened;
    this.backend = backend;
    this.#firstReadingTimeoutMs = firstReadingTimeoutMs;
  }

  static async open(config: GpioBackendConfig, options: GpioBoardOptions = {}): Promise<GpioBoard> {
    const readyTimeoutMs = checkIntegerOption('gpio readyTimeoutMs', options.readyTimeoutMs ?? boardReadyTimeoutMsDefault, 1, boardReadyTimeoutMsMax);
    const firstReadingTimeoutMs = checkIntegerOption('gpio firstReadingTimeoutMs', options.firstReadingTimeoutMs ?? firstReadingTimeoutMsDefault, 1, boardReadyTimeoutMsMax);
    const five = await loadJohnnyFive();
    const opened = await openBackend(config);
    // j5's own connect watchdog gets a margin so ours fires first and the error carries our code.
    const board = new five.Board({ ...opened.j5Options, repl: false, debug: false, sigint: false, timeout: readyTimeoutMs + j5WatchdogMarginMs });
    try {
      await waitReady(board, readyTimeoutMs, config.backend);
    } catch (error) {
      if (board.timer !== null) clearTimeout(board.timer);
      board.timer = null;
      clearFirmataHandshake(board);
      forgetBoard(five, board);
      await opened.release();
      throw error;
    }
    return new GpioBoard(five, board, opened, config.backend, firstReadingTimeoutMs);
  }

  relay(options: RelayPinOptions): Relay {
    this.#assertOpen();
    return this.#keep(makeJ5Relay(this.#five, this.#board, options));
  }

  async input(options: InputPinOptions): Promise<DigitalInput> {
    this.#assertOpen();
    // Validate name, kind and debounceMs before the pin is touched.
    new DebouncedInput({ ...options, initial: false }).dispose();
    return this.#keep(await makeJ5Input(this.#five, this.#board, options, this.#firstReadingTimeoutMs));
  }

  led(options: LedPinOptions): StatusLed {
    this.#assertOpen();
    return this.#keep(makeJ5Led(this.#five, this.#board, options));
  }

  /** Relays to rest, timers stopped, backend released. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const part of this.#parts.splice(0)) part.dispose();
    this.#board.removeAllListeners();
    // Keep swallowing late IO errors: an 'error' event with no listener would throw.
    this.#board.on('error', () => undefined);
    forgetBoard(this.#five, this.#board);
    await this.#opened.release();
  }

  #keep<T extends { dispose(): void }>(part: T): T {
    this.#parts.push(part);
    return part;
  }

  #assertOpen(): void {
    if (this.#closed) throw new GpioError('TS_ERR_GPIO_DISPOSED', `gpio board (${this.backend}) is closed`);
  }
}

function waitReady(board: J5Board, readyTimeoutMs: number, backend: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: GpioError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === null) resolve();
      else reject(error);
    };
    const timer = setTimeout(() => {
      settle(new GpioError('TS_ERR_GPIO_BOARD_TIMEOUT', `gpio board (${backend}) not ready within ${readyTimeoutMs} ms: is the firmware StandardFirmata, the baud rate 57600, the cable a data cable?`));
    }, readyTimeoutMs);
    board.on('ready', () => settle(null));
    // j5 reports connection failures as log events ({ class, message }), not Error objects.
    board.on('error', (event) => settle(new GpioError('TS_ERR_GPIO_BOARD', `gpio board (${backend}): ${describe(event)}`)));
  });
}

function describe(event: unknown): string {
  if (event instanceof Error) return event.message;
  if (typeof event === 'object' && event !== null && 'message' in event) return String(event.message);
  return String(event);
}
