import { EventEmitter } from 'node:events';
import { GpioError } from './errors.ts';

/**
 * A johnny-five IO plugin for a bare Pi's GPIO through the Linux GPIO
 * character device (/dev/gpiochipN), on the optional package node-libgpiod
 * (libgpiod 1.x). It is not a dependency: it needs libgpiod's headers to
 * build, and most hosts use a Firmata board or nothing. Loading it is the
 * only thing that can fail for want of it, with TS_ERR_GPIO_BACKEND_MISSING.
 *
 * node-libgpiod 0.5 has no edge events, so reported inputs are polled every
 * gpiodPollIntervalMs and reported on change, as Firmata does.
 */

/** The slice of node-libgpiod 0.5 used here (its own typings declare flags as objects; they are bit masks). */
export interface GpiodLine {
  requestInputMode(consumer?: string): unknown;
  requestInputModeFlags?(consumer: string, flags: number): unknown;
  requestOutputMode(consumer?: string, defaultValue?: 0 | 1): unknown;
  getValue(): number;
  setValue(value: number): unknown;
  release(): unknown;
}
export interface GpiodLib {
  Chip: new (identifier: string | number) => { readonly numberOfLines: number };
  Line: (new (chip: { readonly numberOfLines: number }, offset: number) => GpiodLine) & { readonly RequestFlags?: { readonly BIAS_PULL_UP: number } };
}

/** Poll period for inputs: a 5 ms poll sees any level that lasts past the shortest debounce (see digital-input.ts). */
export const gpiodPollIntervalMs = 5;
/** Consumer label shown by `gpioinfo`, so a technician sees who holds a line. */
const consumer = 'tapsettle';
const installHint = 'the gpio backend "gpiod" needs the optional package node-libgpiod and libgpiod 1.x: '
  + 'sudo apt install gpiod libgpiod-dev build-essential && npm install node-libgpiod. '
  + 'Or choose the backend "firmata" (an Arduino on USB) or "sim".';

export async function loadGpiodLib(specifier = 'node-libgpiod'): Promise<GpiodLib> {
  let module: unknown;
  try {
    // A variable specifier: the package is optional and has no typings here.
    module = await import(specifier);
  } catch (error) {
    throw new GpioError('TS_ERR_GPIO_BACKEND_MISSING', `cannot load ${specifier}: ${installHint}`, { cause: error });
  }
  const lib = (module as { default?: unknown }).default ?? module;
  if (!isGpiodLib(lib)) throw new GpioError('TS_ERR_GPIO_BACKEND_MISSING', `${specifier} does not export Chip and Line: ${installHint}`);
  return lib;
}

function isGpiodLib(value: unknown): value is GpiodLib {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record['Chip'] === 'function' && typeof record['Line'] === 'function';
}

export async function openGpiodIo(chipPath: string, lib?: GpiodLib): Promise<GpiodIo> {
  const gpiod = lib ?? await loadGpiodLib();
  let chip: { readonly numberOfLines: number };
  try {
    chip = new gpiod.Chip(chipPath);
  } catch (error) {
    throw new GpioError('TS_ERR_GPIO_PORT_OPEN', `cannot open ${chipPath}: ${String(error)}. Is this user in group gpio (docs/hardware.md)?`, { cause: error });
  }
  const io = new GpiodIo(gpiod, chip, chipPath);
  io.connect();
  return io;
}

const MODES = Object.freeze({ INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4 });

export class GpiodIo extends EventEmitter {
  readonly MODES = MODES;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly name: string;
  readonly analogPins: readonly number[] = [];
  readonly pins: { supportedModes: number[]; mode: number; value: number; report: 0 | 1; analogChannel: number }[];
  isReady = false;
  readonly #lib: GpiodLib;
  readonly #chip: { readonly numberOfLines: number };
  readonly #lines = new Map<number, GpiodLine>();
  #poller: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(lib: GpiodLib, chip: { readonly numberOfLines: number }, chipPath: string) {
    super();
    this.#lib = lib;
    this.#chip = chip;
    this.name = `gpiod:${chipPath}`;
    this.pins = Array.from({ length: chip.numberOfLines }, () => ({ supportedModes: [MODES.INPUT, MODES.OUTPUT], mode: MODES.INPUT, value: 0, report: 0 as const, analogChannel: 127 }));
  }

  connect(): void {
    setImmediate(() => {
      if (this.#closed) return;
      this.emit('connect');
      this.isReady = true;
      this.emit('ready');
    });
  }

  pinMode(pin: number, mode: number): this {
    const io = this.#pin(pin);
    if (!io.supportedModes.includes(mode)) throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: line ${pin} supports input and output only`);
    io.mode = mode;
    this.#request(pin, mode === MODES.OUTPUT ? 'output' : 'input');
    return this;
  }

  digitalWrite(pin: number, value: number): this {
    const io = this.#pin(pin);
    const level = value ? 1 : 0;
    if (io.mode === MODES.INPUT) {
      // As on Firmata, writing 1 to an input asks for its pull-up.
      if (level === 1) this.#request(pin, 'input-pull-up');
      return this;
    }
    io.value = level;
    this.#line(pin).setValue(level);
    return this;
  }

  digitalRead(pin: number, handler: (value: number) => void): this {
    const io = this.#pin(pin);
    this.on(`digital-read-${pin}`, handler);
    io.report = 1;
    io.value = this.#line(pin).getValue();
    const first = io.value;
    setImmediate(() => handler(first));
    this.#poller ??= setInterval(() => this.#poll(), gpiodPollIntervalMs);
    return this;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.isReady = false;
    if (this.#poller !== null) clearInterval(this.#poller);
    this.#poller = null;
    for (const line of this.#lines.values()) line.release();
    this.#lines.clear();
    this.emit('close');
    this.removeAllListeners();
  }

  #poll(): void {
    this.pins.forEach((io, pin) => {
      if (io.report !== 1 || io.mode !== MODES.INPUT) return;
      const level = this.#line(pin).getValue();
      if (level === io.value) return;
      io.value = level;
      this.emit(`digital-read-${pin}`, level);
    });
  }

  #request(pin: number, how: 'input' | 'input-pull-up' | 'output'): void {
    this.#lines.get(pin)?.release();
    const line = new this.#lib.Line(this.#chip, pin);
    const pullUp = this.#lib.Line.RequestFlags?.BIAS_PULL_UP;
    if (how === 'output') line.requestOutputMode(consumer, 0);
    else if (how === 'input-pull-up' && pullUp !== undefined && line.requestInputModeFlags !== undefined) line.requestInputModeFlags(consumer, pullUp);
    else line.requestInputMode(consumer);
    this.#lines.set(pin, line);
  }

  #line(pin: number): GpiodLine {
    const line = this.#lines.get(pin);
    if (line === undefined) throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: line ${pin} used before pinMode`);
    return line;
  }

  #pin(pin: number): GpiodIo['pins'][number] {
    const io = Number.isInteger(pin) ? this.pins[pin] : undefined;
    if (io === undefined) throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: no line ${String(pin)} (lines 0..${this.pins.length - 1})`);
    return io;
  }
}
