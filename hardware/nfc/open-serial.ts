/**
 * Opens a real serial port. serialport is imported lazily: its native binding
 * is only needed on a machine that has a PN532 on a UART, and a host (or a
 * laptop station) without it must still load everything else (DESIGN §8).
 */
import type { Duplex } from 'node:stream';
import type { SerialPort } from 'serialport';
import { Pn532Error } from './errors.ts';
import { Pn532Reader } from './pn532-reader.ts';
import type { Pn532ReaderOptions } from './pn532-reader.ts';

/** The PN532's HSU default (UM §6.2.3); the chip can be switched with SetSerialBaudRate, which we do not do. */
export const pn532DefaultBaudRate = 115200;

export interface OpenSerialPort {
  readonly stream: Duplex;
  readonly path: string;
  close(): Promise<void>;
}

export async function openSerialPort(path: string, options: { baudRate?: number } = {}): Promise<OpenSerialPort> {
  const baudRate = options.baudRate ?? pn532DefaultBaudRate;
  let SerialPortClass: typeof SerialPort;
  try {
    ({ SerialPort: SerialPortClass } = await import('serialport'));
  } catch (error) {
    throw new Pn532Error('TS_ERR_SERIAL_UNAVAILABLE', `the serialport package did not load: ${String(error)}`, { cause: error });
  }
  const port = new SerialPortClass({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((error) => {
      if (error) reject(new Pn532Error('TS_ERR_SERIAL_UNAVAILABLE', `${path}: ${error.message}`, { cause: error }));
      else resolve();
    });
  });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (!port.isOpen) resolve();
      else port.close(() => resolve()); // a port that fails to close is gone anyway
    });
  return { stream: port, path, close };
}

/** A PN532 reader on a serial device such as /dev/ttyS0 or /dev/ttyUSB0, woken and configured. */
export async function openPn532ReaderOnSerial(path: string, options: Pn532ReaderOptions & { baudRate?: number } = {}): Promise<Pn532Reader> {
  const { baudRate, ...readerOptions } = options;
  const port = await openSerialPort(path, baudRate === undefined ? {} : { baudRate });
  return openedReader(new Pn532Reader(port.stream, readerOptions, () => port.close()));
}

/** Wakes and configures a reader; if that fails, closes it (and its stream) before passing the error on. */
export async function openedReader(reader: Pn532Reader): Promise<Pn532Reader> {
  try {
    await reader.open();
  } catch (error) {
    await reader.close();
    throw error;
  }
  return reader;
}
