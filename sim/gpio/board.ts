import { EventEmitter } from 'node:events';
import { GpioError, checkIntegerOption } from '../../hardware/gpio/errors.ts';
import type { IoPin, PinSnapshot, SimBoardOptions } from './pins.ts';
import { MODES, adcMax, analogChannelNone, dropPulseMsDefault, inputPulseMsMax, modeNames, passagePulseMsDefault, pinCountMax } from './pins.ts';

export type { IoPin, PinModeName, PinSnapshot, SimBoardOptions } from './pins.ts';
export { MODES, dropPulseMsDefault, inputPulseMsMax, passagePulseMsDefault } from './pins.ts';

/**
 * A simulated I/O board: an in-memory johnny-five IO plugin (the contract of
 * github.com/rwaldron/io-plugins), so the same j5 Relay/Switch/Led code that
 * runs on a Firmata board or a Pi runs here. A dashboard observes it
 * (snapshot(), 'pin-change'); a test or a technician drives its inputs
 * (setInput, pulseInput, dropArticle, passThrough).
 *
 * Electrical model, kept as small as the drivers need: an output pin holds the
 * level last written; an input pin reads what drives it from outside
 * (setInput), else its pull-up (1) if enabled, else 0. As on Firmata, writing
 * 1 to an input pin enables its pull-up. Inputs report on change (and once
 * when reading starts), as Firmata does, not on a fixed period.
 */
export class SimBoard extends EventEmitter {
  readonly MODES = MODES;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly RESOLUTION = Object.freeze({ ADC: adcMax, DAC: null, PWM: 255 });
  readonly name: string;
  readonly defaultLed: number;
  readonly pins: readonly IoPin[];
  readonly analogPins: readonly number[];
  isReady = false;
  readonly #pullup: boolean[];
  readonly #driven: (number | null)[];
  /** Running scripted pulses: their timers, and how to settle their promises if the board closes first. */
  readonly #timers = new Map<NodeJS.Timeout, () => void>();
  #connecting = false;
  #closed = false;

  constructor(options: SimBoardOptions = {}) {
    super();
    const digital = checkIntegerOption('SimBoard digitalPinCount', options.digitalPinCount ?? 28, 1, pinCountMax);
    const analog = checkIntegerOption('SimBoard analogPinCount', options.analogPinCount ?? 2, 0, pinCountMax - digital);
    const pwm = new Set(options.pwmPins ?? [12, 13, 18, 19]);
    const pins: IoPin[] = [];
    for (let i = 0; i < digital; i += 1) {
      const modes = pwm.has(i) ? [MODES.INPUT, MODES.OUTPUT, MODES.PWM] : [MODES.INPUT, MODES.OUTPUT];
      pins.push({ supportedModes: modes, mode: MODES.INPUT, value: 0, report: 0, analogChannel: analogChannelNone });
    }
    for (let a = 0; a < analog; a += 1) {
      pins.push({ supportedModes: [MODES.INPUT, MODES.OUTPUT, MODES.ANALOG], mode: MODES.INPUT, value: 0, report: 0, analogChannel: a });
    }
    this.name = options.name ?? 'SimBoard';
    this.defaultLed = options.defaultLed ?? 13;
    this.pins = pins;
    this.analogPins = pins.flatMap((pin, index) => (pin.analogChannel === analogChannelNone ? [] : [index]));
    this.#pullup = pins.map(() => false);
    this.#driven = pins.map(() => null);
  }

  /** Emits 'connect' then 'ready' asynchronously, as a real plugin does after its handshake. */
  connect(): void {
    if (this.#connecting || this.#closed) return;
    this.#connecting = true;
    setImmediate(() => {
      if (this.#closed) return;
      this.emit('connect');
      this.isReady = true;
      this.emit('ready');
    });
  }

  /** Stops scripted pulses and read reporting; emits 'close'. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.isReady = false;
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer);
      resolve();
    }
    this.#timers.clear();
    for (const pin of this.pins) pin.report = 0;
    this.emit('close');
    this.removeAllListeners();
  }

  // ---- IO plugin contract -------------------------------------------------

  normalize(pin: number | string): number {
    if (typeof pin === 'number') return pin;
    const analog = /^A(\d+)$/.exec(pin);
    if (analog !== null) return this.analogPins[Number(analog[1])] ?? -1;
    const gpio = /^(?:GPIO)?(\d+)$/.exec(pin);
    return gpio === null ? -1 : Number(gpio[1]);
  }

  pinMode(pin: number, mode: number): this {
    const io = this.#pin(pin);
    if (!io.supportedModes.includes(mode)) {
      throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: pin ${pin} does not support mode ${modeNames[mode] ?? String(mode)}`);
    }
    io.mode = mode;
    if (mode === MODES.INPUT) io.value = this.#level(pin);
    this.#changed(pin);
    return this;
  }

  digitalWrite(pin: number, value: number): this {
    const io = this.#pin(pin);
    const level = value ? 1 : 0;
    if (io.mode === MODES.INPUT) {
      // Firmata semantics: a write to an input pin switches its pull-up.
      this.#pullup[pin] = level === 1;
      this.#inputMayHaveChanged(pin);
      return this;
    }
    io.value = level;
    this.#changed(pin);
    return this;
  }

  digitalRead(pin: number, handler: (value: number) => void): this {
    const io = this.#pin(pin);
    this.on(`digital-read-${pin}`, handler);
    io.report = 1;
    setImmediate(() => {
      if (!this.#closed) handler(this.#level(pin));
    });
    return this;
  }

  analogRead(channel: number, handler: (value: number) => void): this {
    const pin = this.analogPins[channel];
    if (pin === undefined) throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: no analog channel ${channel}`);
    this.on(`analog-read-${channel}`, handler);
    this.#pin(pin).report = 1;
    setImmediate(() => {
      if (!this.#closed) handler(this.#pin(pin).value);
    });
    return this;
  }

  pwmWrite(pin: number, value: number): this {
    const io = this.#pin(pin);
    if (io.mode !== MODES.PWM) throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: pin ${pin} is not in PWM mode`);
    io.value = Math.max(0, Math.min(255, Math.round(value)));
    this.#changed(pin);
    return this;
  }

  analogWrite(pin: number, value: number): this {
    return this.pwmWrite(pin, value);
  }

  queryPinState(pin: number, callback: () => void): this {
    this.#pin(pin);
    setImmediate(callback);
    return this;
  }

  /** Non-essential per the contract: accepted and ignored, since reports go out on change. */
  setSamplingInterval(_ms: number): this {
    return this;
  }

  servoWrite(): never {
    throw new GpioError('TS_ERR_GPIO_NOT_SUPPORTED', `${this.name}: servos are not simulated`);
  }

  i2cConfig(): never {
    throw new GpioError('TS_ERR_GPIO_NOT_SUPPORTED', `${this.name}: I2C is not simulated`);
  }

  // ---- observing ----------------------------------------------------------

  snapshot(): PinSnapshot[] {
    return this.pins.map((_, pin) => this.#snapshotOf(pin));
  }

  // ---- scripting the outside world ----------------------------------------

  /** Drives an input from outside, as a sensor output or a switch contact would. */
  setInput(pin: number, level: 0 | 1): void {
    this.#pin(pin);
    this.#driven[pin] = level;
    this.#inputMayHaveChanged(pin);
  }

  /** Sets the voltage on an analog channel (0..ADC max), as a potentiometer or a sensor would. */
  setAnalogInput(channel: number, value: number): void {
    const pin = this.analogPins[channel];
    if (pin === undefined) throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: no analog channel ${channel}`);
    const io = this.#pin(pin);
    const level = checkIntegerOption(`${this.name}: analog value`, value, 0, adcMax);
    if (io.value === level) return;
    io.value = level;
    this.#changed(pin);
    if (io.report === 1) this.emit(`analog-read-${channel}`, level);
  }

  /** Stops driving the pin: it floats to its pull-up (or 0). */
  releaseInput(pin: number): void {
    this.#pin(pin);
    this.#driven[pin] = null;
    this.#inputMayHaveChanged(pin);
  }

  /** Drives `level` for `ms`, then restores what drove the pin before. Resolves when restored. */
  pulseInput(pin: number, level: 0 | 1, ms: number): Promise<void> {
    checkIntegerOption(`${this.name}: pulse length`, ms, 1, inputPulseMsMax);
    const before = this.#driven[this.#pinIndex(pin)] ?? null;
    this.setInput(pin, level);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (!this.#closed) {
          if (before === null) this.releaseInput(pin);
          else this.setInput(pin, before === 1 ? 1 : 0);
        }
        resolve();
      }, ms);
      this.#timers.set(timer, resolve);
    });
  }

  /** An article falls through the drop sensor (active-low by default: pull-up wiring). */
  dropArticle(pin: number, options: { ms?: number; activeLevel?: 0 | 1 } = {}): Promise<void> {
    return this.pulseInput(pin, options.activeLevel ?? 0, options.ms ?? dropPulseMsDefault);
  }

  /** Someone walks through the passage beam. */
  passThrough(pin: number, options: { ms?: number; activeLevel?: 0 | 1 } = {}): Promise<void> {
    return this.pulseInput(pin, options.activeLevel ?? 0, options.ms ?? passagePulseMsDefault);
  }

  // ---- internals ----------------------------------------------------------

  #pinIndex(pin: number): number {
    this.#pin(pin);
    return pin;
  }

  #pin(pin: number): IoPin {
    const io = Number.isInteger(pin) ? this.pins[pin] : undefined;
    if (io === undefined) throw new GpioError('TS_ERR_GPIO_PIN', `${this.name}: no pin ${String(pin)} (pins 0..${this.pins.length - 1})`);
    return io;
  }

  #level(pin: number): number {
    return this.#driven[pin] ?? (this.#pullup[pin] === true ? 1 : 0);
  }

  #inputMayHaveChanged(pin: number): void {
    const io = this.#pin(pin);
    if (io.mode !== MODES.INPUT) {
      this.#changed(pin);
      return;
    }
    const level = this.#level(pin);
    const changed = level !== io.value;
    io.value = level;
    this.#changed(pin);
    if (changed && io.report === 1) this.emit(`digital-read-${pin}`, level);
  }

  #changed(pin: number): void {
    this.emit('pin-change', this.#snapshotOf(pin));
  }

  #snapshotOf(pin: number): PinSnapshot {
    const io = this.#pin(pin);
    return {
      pin,
      mode: modeNames[io.mode] ?? 'input',
      value: io.value,
      pullup: this.#pullup[pin] === true,
      driven: this.#driven[pin] ?? null,
      reporting: io.report === 1,
    };
  }
}
