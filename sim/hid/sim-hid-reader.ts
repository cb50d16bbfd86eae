import { HidError } from '../../hardware/hid/errors.ts';
import type { ReportCodeReaderOptions, ReportSource } from '../../hardware/hid/report-code-reader.ts';
import { ReportCodeReader } from '../../hardware/hid/report-code-reader.ts';
import type { EncodeOptions } from './boot-keyboard-encoder.ts';
import { encodeText } from './boot-keyboard-encoder.ts';

/** The simulated device: hands reports to whoever opened it, none while closed (like an unopened hidraw node). */
class SimReportSource implements ReportSource {
  readonly name: string;
  #sink: ((report: Uint8Array) => void) | null = null;
  #fault: ((error: Error) => void) | null = null;

  constructor(name: string) {
    this.name = name;
  }

  open(onReport: (report: Uint8Array) => void, onFault: (error: Error) => void): Promise<void> {
    this.#sink = onReport;
    this.#fault = onFault;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#sink = null;
    this.#fault = null;
    return Promise.resolve();
  }

  deliver(report: Uint8Array): boolean {
    if (this.#sink === null) return false;
    this.#sink(report);
    return true;
  }

  fail(error: Error): void {
    this.#fault?.(error);
  }
}

/**
 * A simulated barcode/QR scanner or keypad. scan() turns text into the same
 * boot keyboard reports a real reader sends and feeds them through the same
 * decoder as the node-hid reader; sendReport() injects raw (even broken)
 * reports; unplug() fails the device as a pulled cable would.
 */
export class SimHidReader extends ReportCodeReader {
  readonly #device: SimReportSource;

  constructor(options: ReportCodeReaderOptions) {
    const device = new SimReportSource(options.name);
    super(device, options);
    this.#device = device;
  }

  /** Types `text` and Enter. Returns false (nothing sent) while the reader is stopped. */
  scan(text: string, options: EncodeOptions = {}): boolean {
    const reports = encodeText(text, options);
    if (!this.running) return false;
    for (const report of reports) this.#device.deliver(report);
    return true;
  }

  sendReport(report: Uint8Array): boolean {
    return this.#device.deliver(report);
  }

  unplug(): void {
    this.#device.fail(new HidError('TS_ERR_HID_READ', `simulated reader ${this.name} unplugged`));
  }
}
