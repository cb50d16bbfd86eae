import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GpioBoard } from '../../../hardware/gpio/board.ts';
import { SimBoard } from '../../../sim/gpio/board.ts';
import { digitalInputContract } from '../contracts/digital-input-contract.ts';
import { relayContract } from '../contracts/relay-contract.ts';
import { nextEvent } from '../contracts/wait.ts';

const relayPin = 17;
const inputPin = 27;
const ledPin = 18; // a PWM pin on the simulated board

async function openSimGpio(): Promise<{ sim: SimBoard; gpio: GpioBoard; cleanup: () => Promise<void> }> {
  const sim = new SimBoard();
  sim.connect();
  const gpio = await GpioBoard.open({ backend: 'sim', io: sim });
  return {
    sim,
    gpio,
    cleanup: async () => {
      await gpio.close();
      sim.close();
    },
  };
}

// The johnny-five Relay on the simulated board; the coil is read back from the pin (active-high wiring).
relayContract('johnny-five Relay on SimBoard', async (options) => {
  const { sim, gpio, cleanup } = await openSimGpio();
  const relay = gpio.relay({ ...options, pin: relayPin });
  return { relay, energised: () => sim.pins[relayPin]?.value === 1, cleanup };
});

// The johnny-five Switch on the simulated board, pull-up wiring, active-low: the sensor pulls the pin to 0.
digitalInputContract('johnny-five Switch on SimBoard', async (options) => {
  const { sim, gpio, cleanup } = await openSimGpio();
  sim.setInput(inputPin, options.initialActive ? 0 : 1);
  const input = await gpio.input({ name: options.name, kind: options.kind, debounceMs: options.debounceMs, pin: inputPin });
  return { input, drive: (active) => sim.setInput(inputPin, active ? 0 : 1), cleanup };
});

describe('GpioBoard on SimBoard', () => {
  let station: Awaited<ReturnType<typeof openSimGpio>>;
  beforeEach(async () => {
    station = await openSimGpio();
  });
  afterEach(async () => {
    await station.cleanup();
  });

  it('drives an active-low relay module with inverted levels', async () => {
    const relay = station.gpio.relay({ name: 'gate', pin: relayPin, activeLevel: 'low' });
    expect(station.sim.pins[relayPin]).toMatchObject({ mode: 1, value: 1 });
    await relay.pulse(5);
    expect(station.sim.pins[relayPin]?.value).toBe(1);
    relay.open();
    expect(station.sim.pins[relayPin]?.value).toBe(0);
  });

  it('switches the pull-up on for a pull-up input, so a floating pin reads inactive', async () => {
    const input = await station.gpio.input({ name: 'door', kind: 'door-switch', pin: inputPin, activeLevel: 'high', pullUp: true });
    expect(station.sim.snapshot()[inputPin]).toMatchObject({ mode: 'input', pullup: true, driven: null, value: 1 });
    // Door switch wired active-high: the floating, pulled-up pin reads 1 = door open.
    expect(input.value).toBe(true);
  });

  it('sees a simulated article drop on the drop sensor', async () => {
    station.sim.setInput(inputPin, 1);
    const drop = await station.gpio.input({ name: 'drop', kind: 'drop-sensor', pin: inputPin, debounceMs: 10 });
    const seen = nextEvent<[boolean]>(drop, 'change');
    const dropped = station.sim.dropArticle(inputPin, { ms: 40 });
    expect(await seen).toEqual([true]);
    await dropped;
    expect(await nextEvent(drop, 'change')).toEqual([false]);
  });

  it('drives a status LED through PWM and stops its blink timer on close', () => {
    const led = station.gpio.led({ name: 'ready', pin: ledPin });
    led.on();
    expect(station.sim.snapshot()[ledPin]).toMatchObject({ mode: 'pwm', value: 255 });
    led.blink(50);
    led.off();
    expect(station.sim.pins[ledPin]?.value).toBe(0);
    expect(() => led.blink(1)).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_BAD_OPTION' }));
  });

  it('refuses bad pins and options before touching the board', async () => {
    expect(() => station.gpio.relay({ name: 'x', pin: 999 })).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_BAD_OPTION' }));
    await expect(station.gpio.input({ name: 'x', kind: 'drop-sensor', pin: inputPin, debounceMs: 0 })).rejects.toMatchObject({ code: 'TS_ERR_GPIO_BAD_OPTION' });
    expect(() => station.gpio.relay({ name: 'x', pin: 5, pulseMsMax: 120_000 })).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_BAD_OPTION' }));
  });

  it('close() puts relays back to rest and refuses new parts', async () => {
    const relay = station.gpio.relay({ name: 'gate', pin: relayPin });
    relay.open();
    await station.gpio.close();
    expect(relay.state).toBe('closed');
    expect(station.sim.pins[relayPin]?.value).toBe(0);
    expect(() => station.gpio.relay({ name: 'late', pin: 5 })).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_DISPOSED' }));
  });
});

describe('GpioBoard.open', () => {
  it('times out with a coded error when the IO plugin never becomes ready', async () => {
    const neverConnected = new SimBoard();
    await expect(GpioBoard.open({ backend: 'sim', io: neverConnected }, { readyTimeoutMs: 50 })).rejects.toMatchObject({ code: 'TS_ERR_GPIO_BOARD_TIMEOUT' });
    neverConnected.close();
  });

  it('names the bad backend', async () => {
    const bad = { backend: 'pigpio' } as unknown as Parameters<typeof GpioBoard.open>[0];
    await expect(GpioBoard.open(bad)).rejects.toMatchObject({ code: 'TS_ERR_GPIO_BAD_OPTION', message: expect.stringContaining('pigpio') as unknown });
  });
});
