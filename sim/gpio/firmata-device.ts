import { SerialPortMock } from 'serialport';
import type { OpenSerialPort } from '../../hardware/gpio/backends.ts';
import { GpioError } from '../../hardware/gpio/errors.ts';
import type { SimBoard } from './board.ts';
import { MODES } from './board.ts';

/**
 * A virtual Arduino running StandardFirmata 2.5, on a mock serial port, whose
 * pins are a SimBoard. It lets the 'firmata' GPIO backend — johnny-five's own
 * Firmata IO, over serialport — run unchanged in a simulated station and in
 * tests: the host's bytes go through the real firmata.js parser and writer.
 *
 * Speaks the subset a relay/input/LED host uses: the boot announcement
 * (version, firmware), capability and analog-mapping queries, pin modes
 * (with PULLUP), digital port writes and reports, PWM writes. Anything else is
 * counted in `stats.unsupported` and ignored, as the firmware would.
 */
const REPORT_VERSION = 0xf9;
const START_SYSEX = 0xf0;
const END_SYSEX = 0xf7;
const SET_PIN_MODE = 0xf4;
const SET_DIGITAL_PIN_VALUE = 0xf5;
const SYSTEM_RESET = 0xff;
const DIGITAL_MESSAGE = 0x90;
const ANALOG_MESSAGE = 0xe0;
const REPORT_ANALOG = 0xc0;
const REPORT_DIGITAL = 0xd0;
const QUERY_FIRMWARE = 0x79;
const CAPABILITY_QUERY = 0x6b;
const CAPABILITY_RESPONSE = 0x6c;
const ANALOG_MAPPING_QUERY = 0x69;
const ANALOG_MAPPING_RESPONSE = 0x6a;
const SAMPLING_INTERVAL = 0x7a;
const PIN_MODE_PULLUP = 0x0b;
const firmataVersion = [2, 5] as const;
/** Resolution in bits reported per mode in the capability response, as an Uno reports them. */
const modeResolutionBits = new Map<number, number>([[MODES.INPUT, 1], [MODES.OUTPUT, 1], [MODES.ANALOG, 10], [MODES.PWM, 8], [MODES.SERVO, 14]]);
/** Longest sysex accepted: StandardFirmata's own buffer is 64 bytes. */
export const sysexBytesMax = 64;

export interface FirmataDeviceStats {
  commands: number;
  unsupported: number;
  /** Bytes dropped: data with no command, or an over-long sysex. */
  droppedBytes: number;
}

export class VirtualFirmataDevice {
  readonly board: SimBoard;
  readonly firmwareName: string;
  readonly stats: FirmataDeviceStats = { commands: 0, unsupported: 0, droppedBytes: 0 };
  readonly #silent: boolean;
  #send: (bytes: number[]) => void = () => undefined;
  #command: number[] = [];
  #expected = 0;
  readonly #reportingPorts = new Set<number>();
  readonly #lastReport = new Map<number, number>();

  /** silent: never answers (a board with other firmware, or none) — for handshake-timeout tests. */
  constructor(board: SimBoard, options: { firmwareName?: string; silent?: boolean } = {}) {
    this.board = board;
    this.firmwareName = options.firmwareName ?? 'StandardFirmata.ino';
    this.#silent = options.silent === true;
  }

  /**
   * Opens a mock serial port wired to this device. Host writes are taken from
   * the mock binding's write (it offers no event for them); replies go back
   * through its emitData, as bytes from the wire.
   */
  portOpener(): OpenSerialPort {
    return async (path, baudRate) => {
      SerialPortMock.binding.createPort(path, { echo: false, record: false });
      const port = new SerialPortMock({ path, baudRate, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((error) => (error === null ? resolve() : reject(error))));
      const binding = port.port;
      if (binding === undefined) throw new GpioError('TS_ERR_GPIO_PORT_OPEN', `mock port ${path} has no binding after open`);
      const write = binding.write.bind(binding);
      binding.write = async (buffer: Buffer) => {
        await write(buffer);
        this.receive(buffer);
      };
      this.#send = (bytes) => {
        if (binding.isOpen) binding.emitData(Buffer.from(bytes));
      };
      this.board.on('pin-change', () => this.#reportChangedPorts());
      // A freshly reset Uno announces itself before anyone asks.
      this.#announce();
      return port;
    };
  }

  /** Bytes from the host. */
  receive(bytes: Uint8Array): void {
    for (const byte of bytes) this.#byte(byte);
  }

  #byte(byte: number): void {
    const inSysex = this.#command[0] === START_SYSEX;
    if (inSysex) {
      this.#command.push(byte);
      if (byte === END_SYSEX) this.#dispatch();
      else if (this.#command.length > sysexBytesMax) this.#drop(this.#command.length);
      return;
    }
    if ((byte & 0x80) !== 0) {
      if (this.#command.length > 0) this.#drop(this.#command.length);
      this.#command = [byte];
      if (byte === START_SYSEX) return;
      this.#expected = commandLength(byte);
      if (this.#expected === 1) this.#dispatch();
      return;
    }
    if (this.#command.length === 0) {
      this.#drop(1);
      return;
    }
    this.#command.push(byte);
    if (this.#command.length === this.#expected) this.#dispatch();
  }

  #drop(count: number): void {
    this.stats.droppedBytes += count;
    this.#command = [];
  }

  #dispatch(): void {
    const command = this.#command;
    this.#command = [];
    this.stats.commands += 1;
    if (this.#silent) return;
    const [first = 0, a = 0, b = 0] = command;
    try {
      if (first === REPORT_VERSION) this.#send([REPORT_VERSION, ...firmataVersion]);
      else if (first === START_SYSEX) this.#sysex(command.slice(1, -1));
      else if (first === SET_PIN_MODE) this.#pinMode(a, b);
      else if (first === SET_DIGITAL_PIN_VALUE) this.#writePin(a, b);
      else if ((first & 0xf0) === DIGITAL_MESSAGE) this.#writePort(first & 0x0f, a | (b << 7));
      else if ((first & 0xf0) === ANALOG_MESSAGE) this.board.pwmWrite(first & 0x0f, a | (b << 7));
      else if ((first & 0xf0) === REPORT_DIGITAL) this.#reportPort(first & 0x0f, a === 1);
      else this.stats.unsupported += 1;
    } catch (error) {
      // A command for a pin or mode the board lacks: the firmware ignores it.
      if (!(error instanceof GpioError)) throw error;
      this.stats.unsupported += 1;
    }
  }

  #sysex(body: number[]): void {
    const [id] = body;
    if (id === QUERY_FIRMWARE) this.#sendFirmware();
    else if (id === CAPABILITY_QUERY) this.#send([START_SYSEX, CAPABILITY_RESPONSE, ...this.board.pins.flatMap(capabilitiesOf), END_SYSEX]);
    else if (id === ANALOG_MAPPING_QUERY) this.#send([START_SYSEX, ANALOG_MAPPING_RESPONSE, ...this.board.pins.map((pin) => pin.analogChannel), END_SYSEX]);
    else if (id !== SAMPLING_INTERVAL) this.stats.unsupported += 1;
  }

  #pinMode(pin: number, mode: number): void {
    if (mode === PIN_MODE_PULLUP) {
      this.board.pinMode(pin, MODES.INPUT);
      this.board.digitalWrite(pin, 1);
    } else {
      this.board.pinMode(pin, mode);
    }
  }

  /** StandardFirmata 2.5: outputs take the bit; an input given 1 gets its pull-up (a 0 never removes it). */
  #writePin(pin: number, level: number): void {
    const io = this.board.pins[pin];
    if (io === undefined) return;
    if (io.mode === MODES.OUTPUT) this.board.digitalWrite(pin, level);
    else if (io.mode === MODES.INPUT && level === 1) this.board.digitalWrite(pin, 1);
  }

  #writePort(port: number, value: number): void {
    for (let bit = 0; bit < 8; bit += 1) this.#writePin(port * 8 + bit, (value >> bit) & 1);
  }

  #reportPort(port: number, enable: boolean): void {
    if (!enable) {
      this.#reportingPorts.delete(port);
      return;
    }
    this.#reportingPorts.add(port);
    this.#sendPort(port);
  }

  #reportChangedPorts(): void {
    for (const port of this.#reportingPorts) {
      if (this.#inputBits(port) !== this.#lastReport.get(port)) this.#sendPort(port);
    }
  }

  #sendPort(port: number): void {
    const value = this.#inputBits(port);
    this.#lastReport.set(port, value);
    this.#send([DIGITAL_MESSAGE | port, value & 0x7f, (value >> 7) & 0x7f]);
  }

  #inputBits(port: number): number {
    let value = 0;
    for (let bit = 0; bit < 8; bit += 1) {
      const io = this.board.pins[port * 8 + bit];
      if (io?.mode === MODES.INPUT && io.value === 1) value |= 1 << bit;
    }
    return value;
  }

  #announce(): void {
    if (this.#silent) return;
    this.#send([REPORT_VERSION, ...firmataVersion]);
    this.#sendFirmware();
  }

  #sendFirmware(): void {
    const name = [...Buffer.from(this.firmwareName, 'ascii')].flatMap((byte) => [byte & 0x7f, byte >> 7]);
    this.#send([START_SYSEX, QUERY_FIRMWARE, ...firmataVersion, ...name, END_SYSEX]);
  }
}

/** Bytes a command takes, its command byte included (sysex: until END_SYSEX). */
function commandLength(command: number): number {
  if (command === REPORT_VERSION || command === SYSTEM_RESET) return 1;
  if (command === SET_PIN_MODE || command === SET_DIGITAL_PIN_VALUE) return 3;
  const high = command & 0xf0;
  if (high === DIGITAL_MESSAGE || high === ANALOG_MESSAGE) return 3;
  if (high === REPORT_DIGITAL || high === REPORT_ANALOG) return 2;
  return 1;
}

function capabilitiesOf(pin: { supportedModes: number[]; analogChannel: number }): number[] {
  const modes = pin.supportedModes.flatMap((mode) => [mode, modeResolutionBits.get(mode) ?? 1]);
  const pullup = pin.supportedModes.includes(MODES.INPUT) ? [PIN_MODE_PULLUP, 1] : [];
  return [...modes, ...pullup, 0x7f];
}
