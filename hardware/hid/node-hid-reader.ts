import type { CodeReader } from '../code-reader.ts';
import { HidError } from './errors.ts';
import type { ReportCodeReaderOptions, ReportSource } from './report-code-reader.ts';
import { ReportCodeReader } from './report-code-reader.ts';

/**
 * A barcode/QR scanner or keypad in HID keyboard mode, read with node-hid.
 *
 * node-hid is an optionalDependency with a native part (hidapi over hidraw
 * or libusb): it is imported only when a reader is started, so a host without
 * it, or without libusb/libudev, runs everything else. Loaded through our own
 * small interface, since its typings may be absent where it is.
 */
export interface NodeHidDevice {
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  close(): Promise<void>;
}
export interface NodeHidModule {
  HIDAsync: {
    open(path: string): Promise<NodeHidDevice>;
    open(vendorId: number, productId: number): Promise<NodeHidDevice>;
  };
  /** Loads the native binding; throws when it cannot. */
  getHidapiVersion(): string;
  setDriverType(type: 'hidraw' | 'libusb'): void;
}

export type HidDeviceSelector = { path: string } | { vendorId: number; productId: number };

export interface HidReaderConfig extends Omit<ReportCodeReaderOptions, 'name'> {
  name: string;
  device: HidDeviceSelector;
  /**
   * 'hidraw' (default on Linux) reads alongside the kernel keyboard driver, so
   * scans also reach the console; 'libusb' detaches the kernel driver. Global
   * to node-hid: the first reader opened decides.
   */
  driver?: 'hidraw' | 'libusb';
}

const installHint = 'node-hid needs its native library: sudo apt install libusb-1.0-0 libudev1 (and npm install node-hid if it was skipped)';

async function importNodeHid(): Promise<NodeHidModule> {
  const specifier = 'node-hid';
  let module: unknown;
  try {
    module = await import(specifier);
  } catch (error) {
    throw new HidError('TS_ERR_HID_DRIVER_MISSING', `cannot load node-hid: ${installHint}`, { cause: error });
  }
  const hid = (module as { default?: unknown }).default ?? module;
  if (typeof hid !== 'object' || hid === null || !('HIDAsync' in hid) || !('getHidapiVersion' in hid)) {
    throw new HidError('TS_ERR_HID_DRIVER_MISSING', `node-hid does not export HIDAsync: ${installHint}`);
  }
  // The import boundary: the shape is checked above as far as it can be without calling into the native part.
  return hid as NodeHidModule;
}

export class NodeHidSource implements ReportSource {
  readonly name: string;
  readonly #config: HidReaderConfig;
  readonly #load: () => Promise<NodeHidModule>;
  #device: NodeHidDevice | null = null;

  constructor(config: HidReaderConfig, load: () => Promise<NodeHidModule> = importNodeHid) {
    this.name = config.name;
    this.#config = config;
    this.#load = load;
  }

  async open(onReport: (report: Uint8Array) => void, onFault: (error: Error) => void): Promise<void> {
    const hid = await this.#load();
    try {
      if (this.#config.driver !== undefined) hid.setDriverType(this.#config.driver);
      hid.getHidapiVersion();
    } catch (error) {
      throw new HidError('TS_ERR_HID_DRIVER_MISSING', `node-hid cannot load its native part (${String(error)}): ${installHint}`, { cause: error });
    }
    const device = this.#config.device;
    const where = 'path' in device ? device.path : `${hex(device.vendorId)}:${hex(device.productId)}`;
    try {
      this.#device = 'path' in device ? await hid.HIDAsync.open(device.path) : await hid.HIDAsync.open(device.vendorId, device.productId);
    } catch (error) {
      throw new HidError('TS_ERR_HID_OPEN',
        `cannot open HID reader ${this.name} at ${where}: ${String(error)}. Is it plugged in and in HID keyboard mode (lsusb, ls /dev/hidraw*)? May this user open it (docs/hardware.md udev rule)?`,
        { cause: error });
    }
    this.#device.on('data', (data) => onReport(new Uint8Array(data)));
    this.#device.on('error', (error) => onFault(new HidError('TS_ERR_HID_READ', `HID reader ${this.name} at ${where} failed: ${String(error)}`, { cause: error })));
  }

  async close(): Promise<void> {
    const device = this.#device;
    this.#device = null;
    await device?.close();
  }
}

/** The reader for a config: node-hid is loaded on start(), not here. */
export function createHidCodeReader(config: HidReaderConfig, load?: () => Promise<NodeHidModule>): CodeReader {
  return new ReportCodeReader(new NodeHidSource(config, load), config);
}

function hex(id: number): string {
  return id.toString(16).padStart(4, '0');
}
