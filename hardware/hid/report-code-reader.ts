import { EventEmitter } from 'node:events';
import type { CodeReader, CodeReaderStats, CodeRejection } from '../code-reader.ts';
import type { BootKeyboardDecoderOptions } from './boot-keyboard-decoder.ts';
import { BootKeyboardDecoder } from './boot-keyboard-decoder.ts';

/** Where boot keyboard reports come from: a node-hid device, or the simulator. */
export interface ReportSource {
  readonly name: string;
  /** Opens the device; reports and faults flow to the callbacks until close(). */
  open(onReport: (report: Uint8Array) => void, onFault: (error: Error) => void): Promise<void>;
  close(): Promise<void>;
}

export interface ReportCodeReaderOptions extends BootKeyboardDecoderOptions {
  name: string;
  /** Clock for the key-gap rule; injectable so tests need not wait. */
  nowMs?: () => number;
}

/**
 * A CodeReader over any source of boot keyboard reports: the decoder, the
 * events and the start/stop life cycle shared by the real reader (node-hid)
 * and the simulated one, so the simulator exercises the same decoder.
 */
export class ReportCodeReader extends EventEmitter<{ code: [string]; rejected: [CodeRejection]; fault: [Error] }> implements CodeReader {
  readonly name: string;
  readonly #source: ReportSource;
  readonly #decoder: BootKeyboardDecoder;
  readonly #nowMs: () => number;
  #running = false;
  /** Serialises start/stop so a stop during a slow open cannot leave the device open. */
  #transition: Promise<void> = Promise.resolve();

  constructor(source: ReportSource, options: ReportCodeReaderOptions) {
    super();
    this.name = options.name;
    this.#source = source;
    this.#decoder = new BootKeyboardDecoder(options);
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  get running(): boolean {
    return this.#running;
  }

  get stats(): Readonly<CodeReaderStats> {
    return { ...this.#decoder.stats };
  }

  start(): Promise<void> {
    return this.#serialise(async () => {
      if (this.#running) return;
      this.#decoder.reset();
      await this.#source.open((report) => this.#onReport(report), (error) => this.#onFault(error));
      this.#running = true;
    });
  }

  stop(): Promise<void> {
    return this.#serialise(async () => {
      if (!this.#running) return;
      this.#running = false;
      this.#decoder.reset();
      await this.#source.close();
    });
  }

  #serialise(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch(() => undefined);
    return next;
  }

  #onReport(report: Uint8Array): void {
    if (!this.#running) return;
    for (const outcome of this.#decoder.push(report, this.#nowMs())) {
      if (outcome.kind === 'code') this.emit('code', outcome.code);
      else this.emit('rejected', outcome.rejection);
    }
  }

  #onFault(error: Error): void {
    if (!this.#running) return;
    this.#running = false;
    this.#decoder.reset();
    // The source is dead; closing it is best effort and its failure adds nothing to the fault.
    this.#source.close().catch(() => undefined);
    this.emit('fault', error);
  }
}
