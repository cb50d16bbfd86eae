import { afterEach, describe, expect, it } from 'vitest';
import { MODES, SimBoard } from '../../../sim/gpio/board.ts';
import type { PinSnapshot } from '../../../sim/gpio/board.ts';
import { nextEvent, record } from '../../hardware/contracts/wait.ts';

// The IO plugin contract (github.com/rwaldron/io-plugins), checked point by point on the simulated board.
describe('SimBoard follows the johnny-five IO plugin contract', () => {
  let board: SimBoard;
  afterEach(() => board.close());

  it('starts not ready and emits connect, then ready, asynchronously', async () => {
    board = new SimBoard();
    const order: string[] = [];
    board.on('connect', () => order.push('connect'));
    board.on('ready', () => order.push(`ready:${String(board.isReady)}`));
    board.connect();
    expect(board.isReady).toBe(false);
    expect(order).toEqual([]);
    await nextEvent(board, 'ready');
    expect(order).toEqual(['connect', 'ready:true']);
  });

  it('has frozen MODES, pins with supportedModes/mode/value/report/analogChannel, analogPins, name, defaultLed', () => {
    board = new SimBoard({ digitalPinCount: 4, analogPinCount: 2, pwmPins: [3] });
    expect(Object.isFrozen(board.MODES)).toBe(true);
    expect(board.MODES).toEqual({ INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4 });
    expect(board.pins).toHaveLength(6);
    expect(board.pins[0]).toEqual({ supportedModes: [0, 1], mode: 0, value: 0, report: 0, analogChannel: 127 });
    expect(board.pins[3]?.supportedModes).toContain(MODES.PWM);
    expect(board.pins[5]).toMatchObject({ supportedModes: [0, 1, 2], analogChannel: 1 });
    expect(board.analogPins).toEqual([4, 5]);
    expect(board.normalize('A1')).toBe(5);
    expect(board.normalize('GPIO3')).toBe(3);
    expect(board.name).toBe('SimBoard');
    expect(board.defaultLed).toBe(13);
  });

  it('digitalWrite drives an output pin and is observable', () => {
    board = new SimBoard();
    const changes = record<PinSnapshot>(board, 'pin-change');
    board.pinMode(4, MODES.OUTPUT);
    board.digitalWrite(4, 1);
    expect(board.pins[4]?.value).toBe(1);
    expect(changes.at(-1)).toEqual({ pin: 4, mode: 'output', value: 1, pullup: false, driven: null, reporting: false });
  });

  it('digitalRead reports the current level once, then every change, as digital-read-N too', async () => {
    board = new SimBoard();
    board.pinMode(6, MODES.INPUT);
    board.setInput(6, 1);
    const seen: number[] = [];
    const events = record<number>(board, 'digital-read-6');
    board.digitalRead(6, (value) => seen.push(value));
    await new Promise((resolve) => setImmediate(resolve));
    board.setInput(6, 0);
    board.setInput(6, 0);
    board.setInput(6, 1);
    expect(seen).toEqual([1, 0, 1]);
    expect(events).toEqual([0, 1]);
    expect(board.pins[6]).toMatchObject({ report: 1, value: 1 });
  });

  it('models pull-ups the Firmata way: writing 1 to an input enables it; a floating pin reads it', () => {
    board = new SimBoard();
    board.pinMode(7, MODES.INPUT);
    expect(board.pins[7]?.value).toBe(0);
    board.digitalWrite(7, 1);
    expect(board.snapshot()[7]).toMatchObject({ pullup: true, value: 1, driven: null });
    board.setInput(7, 0);
    expect(board.pins[7]?.value).toBe(0);
    board.releaseInput(7);
    expect(board.pins[7]?.value).toBe(1);
  });

  it('pwmWrite needs PWM mode and clamps to 0..255; analogRead reports the analog channel', async () => {
    board = new SimBoard({ pwmPins: [12] });
    expect(() => board.pwmWrite(12, 10)).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_PIN' }));
    board.pinMode(12, MODES.PWM);
    board.pwmWrite(12, 300);
    expect(board.pins[12]?.value).toBe(255);
    const readings: number[] = [];
    const first = new Promise<void>((resolve) => board.analogRead(0, (value) => {
      readings.push(value);
      resolve();
    }));
    await first;
    board.setAnalogInput(0, 512);
    expect(readings).toEqual([0, 512]);
    expect(() => board.setAnalogInput(0, 1024)).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_BAD_OPTION' }));
  });

  it('throws coded errors for what it cannot do: unknown pins, unsupported modes, servos, I2C', () => {
    board = new SimBoard({ digitalPinCount: 4, analogPinCount: 0 });
    expect(() => board.pinMode(9, MODES.OUTPUT)).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_PIN' }));
    expect(() => board.pinMode(1, MODES.ANALOG)).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_PIN' }));
    expect(() => board.servoWrite()).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_NOT_SUPPORTED' }));
    expect(() => board.i2cConfig()).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_NOT_SUPPORTED' }));
    expect(() => new SimBoard({ digitalPinCount: 0 })).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_BAD_OPTION' }));
  });
});

describe('SimBoard scripting', () => {
  let board: SimBoard;
  afterEach(() => board.close());

  it('dropArticle pulses the pin to its active level and restores what drove it', async () => {
    board = new SimBoard();
    board.pinMode(20, MODES.INPUT);
    board.setInput(20, 1);
    const levels = record<number>(board, 'digital-read-20');
    board.digitalRead(20, () => undefined);
    await board.dropArticle(20, { ms: 10 });
    expect(levels).toEqual([0, 1]);
    expect(board.snapshot()[20]).toMatchObject({ driven: 1, value: 1 });
  });

  it('passThrough with an active-high beam, and a pulse that never ends is refused', async () => {
    board = new SimBoard();
    board.pinMode(21, MODES.INPUT);
    await board.passThrough(21, { ms: 5, activeLevel: 1 });
    expect(board.snapshot()[21]).toMatchObject({ driven: null, value: 0 });
    expect(() => board.pulseInput(21, 1, 10_001)).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_BAD_OPTION' }));
  });

  it('close() settles running pulses, stops reporting and emits close', async () => {
    board = new SimBoard();
    const closed = nextEvent(board, 'close');
    const pulse = board.pulseInput(3, 1, 5_000);
    board.close();
    await pulse;
    await closed;
    expect(board.isReady).toBe(false);
    expect(board.pins.every((pin) => pin.report === 0)).toBe(true);
  });
});
