import { GpioError } from './errors.ts';
import type { GpiodLib } from './gpiod-io.ts';
import type { IoPluginLike, J5BoardOptions } from './j5.ts';

/**
 * Which IO plugin a GPIO board runs on, chosen by config:
 * - 'sim': an IO plugin object handed in — the simulated board (sim/gpio/board.ts).
 * - 'firmata': an Arduino-class board running StandardFirmata on a serial port,
 *   through johnny-five's own Firmata IO (its `port` option).
 * - 'gpiod': a bare Pi's GPIO through the Linux GPIO character device, via the
 *   optional package node-libgpiod (not a dependency: loaded only here).
 */
export const gpioBackendNames = ['sim', 'firmata', 'gpiod'] as const;
export type GpioBackendName = (typeof gpioBackendNames)[number];

/** The serial port as firmata uses it (a serialport stream, or the simulator's mock port). */
export interface SerialTransport {
  readonly path: string;
  readonly isOpen: boolean;
  close(callback?: (error?: Error | null) => void): void;
}

export type OpenSerialPort = (path: string, baudRate: number) => Promise<SerialTransport>;

export type GpioBackendConfig =
  | { backend: 'sim'; io: IoPluginLike }
  | {
      backend: 'firmata';
      /** /dev/ttyACM0 (Uno, Mega) or /dev/ttyUSB0 (CH340/FTDI clones). */
      path: string;
      /** StandardFirmata speaks 57600 baud. */
      baudRate?: number;
      /** How to open the port; default serialport's SerialPort. The simulator passes a mock port. */
      openPort?: OpenSerialPort;
    }
  | {
      backend: 'gpiod';
      /** /dev/gpiochip0 on a Pi 4 and earlier; gpiochip4 on a Pi 5 (RP1). */
      chip?: string;
      /** node-libgpiod itself, or a stand-in; default: imported on open. */
      lib?: GpiodLib;
    };

export const firmataBaudRateDefault = 57_600;

export interface OpenedBackend {
  /** What to hand j5's Board: an IO plugin, or a port for j5's own Firmata IO. */
  j5Options: Pick<J5BoardOptions, 'io' | 'port'>;
  release(): Promise<void>;
}

export async function openBackend(config: GpioBackendConfig): Promise<OpenedBackend> {
  switch (config.backend) {
    case 'sim':
      // The simulated board belongs to whoever made it (a station, a test): we neither connect nor close it.
      return { j5Options: { io: config.io }, release: () => Promise.resolve() };
    case 'firmata': {
      const open = config.openPort ?? openRealSerialPort;
      const port = await open(config.path, config.baudRate ?? firmataBaudRateDefault);
      return { j5Options: { port }, release: () => closePort(port) };
    }
    case 'gpiod': {
      const { openGpiodIo } = await import('./gpiod-io.ts');
      const io = await openGpiodIo(config.chip ?? '/dev/gpiochip0', config.lib);
      return { j5Options: { io }, release: () => Promise.resolve(io.close()) };
    }
    default:
      throw new GpioError('TS_ERR_GPIO_BAD_OPTION', `gpio backend must be one of ${gpioBackendNames.join(', ')}, got ${String((config as { backend: unknown }).backend)}`);
  }
}

async function openRealSerialPort(path: string, baudRate: number): Promise<SerialTransport> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((error) => {
      if (error === null) {
        resolve();
        return;
      }
      reject(new GpioError('TS_ERR_GPIO_PORT_OPEN',
        `cannot open Firmata board on ${path}: ${error.message}. Check the cable and the path (ls /dev/ttyACM* /dev/ttyUSB*) and that this user may open it (group dialout; docs/hardware.md has a udev rule).`,
        { cause: error }));
    });
  });
  return port;
}

function closePort(port: SerialTransport): Promise<void> {
  if (!port.isOpen) return Promise.resolve();
  // A close error (device already unplugged) leaves nothing to clean up: the port is gone either way.
  return new Promise((resolve) => port.close(() => resolve()));
}
