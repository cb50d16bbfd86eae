import { afterEach, describe, expect, it } from 'vitest';
import { GpioBoard } from '../../../hardware/gpio/board.ts';
import { SimBoard } from '../../../sim/gpio/board.ts';
import { VirtualFirmataDevice } from '../../../sim/gpio/firmata-device.ts';
import { digitalInputContract } from '../contracts/digital-input-contract.ts';
import { relayContract } from '../contracts/relay-contract.ts';

/**
 * The 'firmata' backend end to end on this machine: johnny-five's own Firmata
 * IO (firmata.js) over a serialport 13 mock port, answered by a virtual
 * StandardFirmata board. Exercised: the handshake (version, firmware,
 * capabilities, analog mapping), pin modes, digital port writes, pull-ups,
 * digital reporting. Not exercised: a real UART, a real Arduino's timing
 * (reset on open, 5 s silent-board fallback), analog and PWM over Firmata.
 */
let nextPort = 0;
const relayPin = 4;
const inputPin = 5; // same Firmata port (pins 0-7) as the relay: port writes must not disturb the input

async function openFirmata(): Promise<{ sim: SimBoard; device: VirtualFirmataDevice; gpio: GpioBoard; cleanup: () => Promise<void> }> {
  const sim = new SimBoard({ digitalPinCount: 20, analogPinCount: 6, name: 'VirtualUno' });
  const device = new VirtualFirmataDevice(sim);
  nextPort += 1;
  const gpio = await GpioBoard.open({ backend: 'firmata', path: `/dev/ttyVIRT${nextPort}`, openPort: device.portOpener() }, { readyTimeoutMs: 5_000 });
  return {
    sim,
    device,
    gpio,
    cleanup: async () => {
      await gpio.close();
      sim.close();
    },
  };
}

relayContract('johnny-five Relay over Firmata (virtual StandardFirmata on a mock serial port)', async (options) => {
  const { sim, gpio, cleanup } = await openFirmata();
  const relay = gpio.relay({ ...options, pin: relayPin });
  return { relay, energised: () => sim.pins[relayPin]?.value === 1, cleanup };
});

digitalInputContract('johnny-five Switch over Firmata (virtual StandardFirmata on a mock serial port)', async (options) => {
  const { sim, gpio, cleanup } = await openFirmata();
  sim.setInput(inputPin, options.initialActive ? 0 : 1);
  const input = await gpio.input({ name: options.name, kind: options.kind, debounceMs: options.debounceMs, pin: inputPin });
  return { input, drive: (active) => sim.setInput(inputPin, active ? 0 : 1), cleanup };
});

describe('firmata backend', () => {
  let station: Awaited<ReturnType<typeof openFirmata>> | null = null;
  afterEach(async () => {
    await station?.cleanup();
    station = null;
  });

  it('completes the Firmata handshake and sets modes and pull-ups over the wire', async () => {
    station = await openFirmata();
    station.gpio.relay({ name: 'gate', pin: relayPin, activeLevel: 'low' });
    await station.gpio.input({ name: 'beam', kind: 'passage-sensor', pin: inputPin });
    expect(station.device.stats.commands).toBeGreaterThan(4);
    expect(station.device.stats.droppedBytes).toBe(0);
    const pins = station.sim.snapshot();
    expect(pins[relayPin]).toMatchObject({ mode: 'output', value: 1 }); // active-low relay at rest
    expect(pins[inputPin]).toMatchObject({ mode: 'input', pullup: true });
  });

  it('gives TS_ERR_GPIO_BOARD_TIMEOUT and closes the port when the board never answers', async () => {
    const sim = new SimBoard();
    const silent = new VirtualFirmataDevice(sim, { silent: true });
    nextPort += 1;
    await expect(GpioBoard.open({ backend: 'firmata', path: `/dev/ttyVIRT${nextPort}`, openPort: silent.portOpener() }, { readyTimeoutMs: 200 }))
      .rejects.toMatchObject({ code: 'TS_ERR_GPIO_BOARD_TIMEOUT' });
    sim.close();
  });

  // Real serialport (bindings-cpp), lazily imported: a path with no device behind it.
  it('real serial port: TS_ERR_GPIO_PORT_OPEN naming the path when it does not exist', async () => {
    await expect(GpioBoard.open({ backend: 'firmata', path: '/dev/ttyACM-tapsettle-none' }, { readyTimeoutMs: 1_000 }))
      .rejects.toMatchObject({ code: 'TS_ERR_GPIO_PORT_OPEN', message: expect.stringContaining('/dev/ttyACM-tapsettle-none') as unknown });
  });
});
