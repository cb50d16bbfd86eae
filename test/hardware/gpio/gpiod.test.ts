import { describe, expect, it } from 'vitest';
import { GpioBoard } from '../../../hardware/gpio/board.ts';
import type { GpiodLib, GpiodLine } from '../../../hardware/gpio/gpiod-io.ts';
import { loadGpiodLib } from '../../../hardware/gpio/gpiod-io.ts';
import { digitalInputContract } from '../contracts/digital-input-contract.ts';
import { relayContract } from '../contracts/relay-contract.ts';

/**
 * The 'gpiod' backend. node-libgpiod is not installed here (nor on CI), so:
 * exercised — the clear coded error when it is missing, and our IO plugin
 * (GpiodIo: line requests, pull-up flag, input polling) on a stand-in with
 * node-libgpiod 0.5's API; not exercised — the real binding and a real
 * /dev/gpiochip.
 */
interface FakeLineState {
  requested: 'input' | 'output' | null;
  output: number;
  pullUp: boolean;
  external: number | null;
}

const biasPullUpFlag = 0x20;

function fakeLibgpiod(lineCount = 28): { lib: GpiodLib; lines: FakeLineState[] } {
  const lines: FakeLineState[] = Array.from({ length: lineCount }, () => ({ requested: null, output: 0, pullUp: false, external: null }));
  class Chip {
    readonly numberOfLines = lineCount;
  }
  class Line implements GpiodLine {
    static readonly RequestFlags = { BIAS_PULL_UP: biasPullUpFlag };
    readonly #state: FakeLineState;
    constructor(_chip: Chip, offset: number) {
      const state = lines[offset];
      if (state === undefined) throw new Error(`no line ${offset}`);
      this.#state = state;
    }
    requestInputMode(): void {
      Object.assign(this.#state, { requested: 'input', pullUp: false });
    }
    requestInputModeFlags(_consumer: string, flags: number): void {
      Object.assign(this.#state, { requested: 'input', pullUp: (flags & biasPullUpFlag) !== 0 });
    }
    requestOutputMode(_consumer?: string, defaultValue: 0 | 1 = 0): void {
      Object.assign(this.#state, { requested: 'output', output: defaultValue });
    }
    getValue(): number {
      const state = this.#state;
      if (state.requested === 'output') return state.output;
      return state.external ?? (state.pullUp ? 1 : 0);
    }
    setValue(value: number): void {
      this.#state.output = value;
    }
    release(): void {
      this.#state.requested = null;
    }
  }
  return { lib: { Chip, Line }, lines };
}

const relayPin = 17;
const inputPin = 22;

relayContract('johnny-five Relay on GpiodIo (stand-in libgpiod)', async (options) => {
  const { lib, lines } = fakeLibgpiod();
  const gpio = await GpioBoard.open({ backend: 'gpiod', chip: '/dev/gpiochip0', lib });
  const relay = gpio.relay({ ...options, pin: relayPin });
  return { relay, energised: () => lines[relayPin]?.requested === 'output' && lines[relayPin].output === 1, cleanup: () => gpio.close() };
});

digitalInputContract('johnny-five Switch on GpiodIo (stand-in libgpiod, polled)', async (options) => {
  const { lib, lines } = fakeLibgpiod();
  const line = lines[inputPin];
  if (line === undefined) throw new Error('fake chip too small');
  line.external = options.initialActive ? 0 : 1;
  const gpio = await GpioBoard.open({ backend: 'gpiod', lib });
  const input = await gpio.input({ name: options.name, kind: options.kind, debounceMs: options.debounceMs, pin: inputPin });
  return { input, drive: (active) => void (line.external = active ? 0 : 1), cleanup: () => gpio.close() };
});

describe('gpiod backend', () => {
  it('without node-libgpiod: TS_ERR_GPIO_BACKEND_MISSING saying what to install', async () => {
    const opened = GpioBoard.open({ backend: 'gpiod' });
    await expect(opened).rejects.toMatchObject({ code: 'TS_ERR_GPIO_BACKEND_MISSING', message: expect.stringContaining('npm install node-libgpiod') as unknown });
    await expect(loadGpiodLib('node-libgpiod')).rejects.toMatchObject({ code: 'TS_ERR_GPIO_BACKEND_MISSING' });
  });

  it('requests the pull-up bias for a pull-up input and releases every line on close', async () => {
    const { lib, lines } = fakeLibgpiod();
    const gpio = await GpioBoard.open({ backend: 'gpiod', lib });
    const door = await gpio.input({ name: 'door', kind: 'door-switch', pin: inputPin, activeLevel: 'high' });
    gpio.relay({ name: 'lock', pin: relayPin });
    expect(lines[inputPin]).toMatchObject({ requested: 'input', pullUp: true });
    expect(door.value).toBe(true);
    await gpio.close();
    expect(lines.every((line) => line.requested === null)).toBe(true);
  });
});
