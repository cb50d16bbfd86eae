/**
 * The PN532 command transport over a byte stream (a serialport, a pty, a mock
 * port): one command in flight, ACK then response, bounded retries, coded
 * errors. Knows frames, not what the commands mean (pn532-commands.ts does).
 *
 * Dialogue (UM §6.2.2): host → command frame; chip → ACK within ~1 ms, then
 * the response frame (code = command + 1). A lost ACK means resend; a
 * corrupted response is asked for again with a NACK; an overdue response is
 * aborted by sending an ACK, as libnfc does (pn532_uart_abort_command).
 */
import type { Duplex } from 'node:stream';
import { Pn532Error } from './errors.ts';
import { ackFrame, encodeCommand, nackFrame, tfiChipToHost } from './frame.ts';
import type { Pn532Frame } from './frame.ts';
import { Pn532FrameParser } from './frame-parser.ts';

export interface Pn532LinkOptions {
  ackTimeoutMs?: number;
  responseTimeoutMs?: number;
  retriesMax?: number;
  nacksMax?: number;
  queueLengthMax?: number;
  writeTimeoutMs?: number;
  frameIdleTimeoutMs?: number;
  bufferBytesMax?: number;
}

export const pn532LinkDefaults = {
  /** The chip ACKs within ~1 ms of a frame's last byte; 100 ms also covers a loaded Pi's scheduler. */
  ackTimeoutMs: 100,
  /** Plain commands answer in a few ms, InListPassiveTarget with bounded retries well under this. Exchanges pass their own. */
  responseTimeoutMs: 1000,
  /** Resends after a missing ACK or a NACK from the chip: line noise on a long cable, not a dead chip. */
  retriesMax: 2,
  /** NACKs we send per command to ask the chip to resend a corrupted response. */
  nacksMax: 2,
  /** Commands waiting behind the one in flight. A host has one dialogue at a time; more means a caller loops. */
  queueLengthMax: 8,
  /** A 275-byte frame takes 290 ms at 9600 baud, the slowest rate the chip offers. */
  writeTimeoutMs: 1000,
  /**
   * A frame's bytes come back to back; USB-serial adapters batch them every
   * 16 ms (FTDI latency timer). An incomplete frame silent for longer was a
   * stray header, and the parser is told to give it up (Pn532FrameParser.flush).
   */
  frameIdleTimeoutMs: 40,
} as const;

/** Frames kept between two reads of the in-flight command; a dialogue produces ACK + response + a few stale ones. */
const inboxFramesMax = 16;

type LinkEvent = { readonly kind: 'frame'; readonly frame: Pn532Frame } | { readonly kind: 'corrupt' };

export class Pn532Link {
  readonly parser: Pn532FrameParser;
  readonly counters = {
    commands: 0, retries: 0, ackTimeouts: 0, responseTimeouts: 0, nacksSent: 0, nacksReceived: 0,
    errorFrames: 0, staleFrames: 0, inboxDropped: 0,
  };
  private readonly options: Required<Omit<Pn532LinkOptions, 'bufferBytesMax'>>;
  private readonly inbox: LinkEvent[] = [];
  private readonly queue: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private wake: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private busy = false;
  private closedError: Pn532Error | null = null;

  constructor(private readonly stream: Duplex, options: Pn532LinkOptions = {}) {
    this.options = { ...pn532LinkDefaults, ...options };
    for (const [name, value] of Object.entries(this.options)) {
      if (!Number.isInteger(value) || value < 0) throw new RangeError(`Pn532Link option ${name} must be a non-negative integer, got ${value}`);
    }
    this.parser = new Pn532FrameParser(options.bufferBytesMax === undefined ? {} : { bufferBytesMax: options.bufferBytesMax });
  }

  start(): void {
    this.stream.on('data', this.onData);
    this.stream.on('close', this.onClose);
    this.stream.on('error', this.onError);
  }

  /** Detaches from the stream (which the caller owns) and fails whatever is waiting. */
  stop(): void {
    this.stream.off('data', this.onData);
    this.stream.off('close', this.onClose);
    this.stream.off('error', this.onError);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.fail(new Pn532Error('TS_ERR_PN532_CLOSED'));
  }

  /** Sends a command and resolves with the response data after the response code. */
  command(code: number, params: Uint8Array = new Uint8Array(0), options: { responseTimeoutMs?: number } = {}): Promise<Uint8Array> {
    return this.exclusive(() => this.run(code, params, options.responseTimeoutMs ?? this.options.responseTimeoutMs));
  }

  /** Writes bytes outside the command dialogue (the HSU wakeup), still one at a time with commands. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    return this.exclusive(() => this.write(bytes));
  }

  private async run(code: number, params: Uint8Array, responseTimeoutMs: number): Promise<Uint8Array> {
    const frame = encodeCommand(code, params);
    this.counters.commands++;
    let nacks = 0;
    for (let sends = 1; ; sends++) {
      this.inbox.length = 0; // anything before our frame answers an older one
      await this.write(frame);
      const outcome = await this.awaitAnswer(code, responseTimeoutMs, () => nacks++ < this.options.nacksMax);
      if (outcome.kind === 'response') return outcome.data;
      if (sends > this.options.retriesMax) {
        throw new Pn532Error('TS_ERR_PN532_NO_ACK', `command 0x${code.toString(16)} after ${sends} sends`);
      }
      this.counters.retries++;
    }
  }

  /** Waits for ACK then response; 'resend' when the ACK never came or the chip NACKed. */
  private async awaitAnswer(code: number, responseTimeoutMs: number, mayNack: () => boolean): Promise<{ kind: 'response'; data: Uint8Array } | { kind: 'resend' }> {
    let acked = false;
    let deadline = performance.now() + this.options.ackTimeoutMs;
    while (true) {
      const event = await this.nextEvent(deadline);
      if (event === 'timeout') {
        if (!acked) {
          this.counters.ackTimeouts++;
          return { kind: 'resend' };
        }
        this.counters.responseTimeouts++;
        await this.write(ackFrame); // abort, so the chip drops the late answer
        throw new Pn532Error('TS_ERR_PN532_TIMEOUT', `command 0x${code.toString(16)}, ${responseTimeoutMs} ms`);
      }
      if (event.kind === 'corrupt') {
        if (acked && mayNack()) {
          this.counters.nacksSent++;
          await this.write(nackFrame);
        }
        continue;
      }
      const frame = event.frame;
      if (frame.kind === 'ack' && !acked) {
        acked = true;
        deadline = performance.now() + responseTimeoutMs;
      } else if (frame.kind === 'nack' && !acked) {
        this.counters.nacksReceived++;
        return { kind: 'resend' };
      } else if (acked && frame.kind === 'error') {
        this.counters.errorFrames++;
        throw new Pn532Error('TS_ERR_PN532_SYNTAX', `command 0x${code.toString(16)}`);
      } else if (acked && frame.kind === 'info' && frame.tfi === tfiChipToHost && frame.data[0] === code + 1) {
        return { kind: 'response', data: frame.data.subarray(1) };
      } else {
        // A response or error frame before our ACK belongs to an aborted command, even with the same code.
        this.counters.staleFrames++;
      }
    }
  }

  private nextEvent(deadline: number): Promise<LinkEvent | 'timeout'> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closedError !== null) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve('timeout');
      }, Math.max(0, deadline - performance.now()));
      this.wake = () => {
        const event = this.inbox.shift();
        if (event === undefined && this.closedError === null) return; // bytes that completed no frame
        clearTimeout(timer);
        this.wake = null;
        if (event !== undefined) resolve(event);
        else reject(this.closedError ?? new Pn532Error('TS_ERR_PN532_CLOSED'));
      };
    });
  }

  private async exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closedError !== null) throw this.closedError;
    if (this.busy) {
      if (this.queue.length >= this.options.queueLengthMax) {
        throw new Pn532Error('TS_ERR_PN532_BUSY', `${this.queue.length} commands already waiting`);
      }
      await new Promise<void>((resolve, reject) => this.queue.push({ resolve, reject })); // busy is handed over to us
    }
    this.busy = true;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next === undefined) this.busy = false;
      else next.resolve();
    }
  }

  private write(bytes: Uint8Array): Promise<void> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Pn532Error('TS_ERR_PN532_IO', `write not done in ${this.options.writeTimeoutMs} ms`)), this.options.writeTimeoutMs);
      this.stream.write(Buffer.from(bytes), (error) => {
        clearTimeout(timer);
        if (error) reject(new Pn532Error('TS_ERR_PN532_IO', error.message, { cause: error }));
        else resolve();
      });
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    const rejectedBefore = this.parser.rejectedFrames;
    const frames = this.parser.push(chunk);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = this.parser.bufferedBytes > 0 ? setTimeout(this.onIdle, this.options.frameIdleTimeoutMs) : null;
    this.deliver(frames, this.parser.rejectedFrames > rejectedBefore);
  };

  private readonly onIdle = (): void => {
    this.idleTimer = null;
    const rejectedBefore = this.parser.rejectedFrames;
    const frames = this.parser.flush();
    this.deliver(frames, this.parser.rejectedFrames > rejectedBefore);
  };

  private deliver(frames: Pn532Frame[], corrupted: boolean): void {
    if (!this.busy) {
      this.counters.staleFrames += frames.length;
      return;
    }
    for (const frame of frames) this.enqueue({ kind: 'frame', frame });
    if (corrupted) this.enqueue({ kind: 'corrupt' });
    this.wake?.();
  }

  private enqueue(event: LinkEvent): void {
    if (this.inbox.length >= inboxFramesMax) {
      this.inbox.shift();
      this.counters.inboxDropped++;
    }
    this.inbox.push(event);
  }

  private readonly onClose = (): void => this.fail(new Pn532Error('TS_ERR_PN532_CLOSED', 'the serial port closed'));

  private readonly onError = (error: Error): void => this.fail(new Pn532Error('TS_ERR_PN532_IO', error.message, { cause: error }));

  private fail(error: Pn532Error): void {
    this.closedError ??= error;
    this.wake?.();
    for (const waiting of this.queue.splice(0)) waiting.reject(this.closedError);
  }
}
