/**
 * A virtual PN532: the chip's side of the HSU serial protocol (NXP PN532 User
 * Manual §6.2), transport-free: bytes from the host go into receive(), bytes
 * to the host come out of the function given to connect(). Adapters put it
 * behind a @serialport/binding-mock port (mock-port.ts) or a pty (pty.ts).
 *
 * Framing behaviour, as the manual describes the chip:
 * - a correct command frame is ACKed at once, then executed, then answered;
 * - a frame with a bad LCS or DCS is ignored (no ACK, no NACK): the host's ACK
 *   timeout and resend recover, which is what the chip relies on;
 * - a correct frame with an unknown command or bad parameters is ACKed, then
 *   answered with the error frame 00 00 FF 01 FF 7F 81 00;
 * - an ACK from the host aborts the command being executed; a new command
 *   aborts it too (UM §6.2.1.3);
 * - a NACK from the host makes the chip send its last response again.
 */
import { ackFrame, encodeResponse, errorFrame, tfiHostToChip } from '../../hardware/nfc/frame.ts';
import type { Pn532Frame } from '../../hardware/nfc/frame.ts';
import { Pn532FrameParser } from '../../hardware/nfc/frame-parser.ts';
import { pn532CommandCode } from '../../hardware/nfc/pn532-commands.ts';
import { ChipState, pn532Firmware, runChipCommand } from './chip-commands.ts';
import type { ChipFirmware } from './chip-commands.ts';
import { RfField } from './field.ts';
import { timingOff } from './timing.ts';
import type { Pn532Timing } from './timing.ts';

export interface VirtualPn532Options {
  field?: RfField;
  timing?: Pn532Timing;
  firmware?: ChipFirmware;
  /** A chip fresh from power-on on HSU sleeps until a byte wakes it (the host's 55 55 …). */
  startAsleep?: boolean;
  targetAnswerTimeoutMs?: number;
}

/** A host frame's bytes come back to back; a partial frame silent this long was noise and is given up. */
const frameIdleTimeoutMs = 40;

/** A phone answers an APDU in milliseconds; after this long silence the chip reports the target gone. */
export const defaultTargetAnswerTimeoutMs = 2000;

export class VirtualPn532 {
  readonly field: RfField;
  readonly timing: Pn532Timing;
  readonly state = new ChipState();
  readonly parser = new Pn532FrameParser();
  readonly counters = { wakeups: 0, commands: 0, acksSent: 0, aborts: 0, nacksReceived: 0, resends: 0, errorFramesSent: 0, ignoredFrames: 0, internalErrors: 0 };
  /** Fault injection: how many coming command frames to lose as if garbled on the wire / responses to corrupt. */
  readonly faults = { dropCommands: 0, corruptResponses: 0 };
  private readonly firmware: ChipFirmware;
  private readonly targetAnswerTimeoutMs: number;
  private output: ((bytes: Uint8Array) => void) | null = null;
  private asleep: boolean;
  private current: AbortController | null = null;
  private lastResponse: Uint8Array | null = null;
  private sending: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | null = null;
  /** When the chip→host line finishes its queued bytes (timing model on). */
  private lineFreeAtMs = 0;

  constructor(options: VirtualPn532Options = {}) {
    this.field = options.field ?? new RfField();
    this.timing = options.timing ?? timingOff;
    this.firmware = options.firmware ?? pn532Firmware;
    this.asleep = options.startAsleep ?? true;
    this.targetAnswerTimeoutMs = options.targetAnswerTimeoutMs ?? defaultTargetAnswerTimeoutMs;
    if (!(this.targetAnswerTimeoutMs > 0)) throw new RangeError(`targetAnswerTimeoutMs must be > 0, got ${this.targetAnswerTimeoutMs}`);
  }

  get isAsleep(): boolean {
    return this.asleep;
  }

  /** Where the chip's bytes go (the host's receive side). */
  connect(output: (bytes: Uint8Array) => void): void {
    this.output = output;
  }

  /** Bytes from the host, in whatever chunks the transport delivers. */
  receive(bytes: Uint8Array): void {
    let data = bytes;
    if (this.asleep && data.length > 0) {
      // The waking byte is lost, and so is the rest of the 55 55 pattern; the zeros after it are preamble.
      this.asleep = false;
      this.counters.wakeups++;
      let skip = 1;
      while (data[skip] === 0x55) skip++;
      data = data.subarray(skip);
    }
    for (const frame of this.parser.push(data)) this.onFrame(frame);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = this.parser.bufferedBytes > 0 ? setTimeout(this.onIdle, frameIdleTimeoutMs).unref() : null;
  }

  private readonly onIdle = (): void => {
    this.idleTimer = null;
    for (const frame of this.parser.flush()) this.onFrame(frame);
  };

  /** Stops whatever runs, forgets the host. Targets stay in the field. */
  close(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.abortCurrent();
    this.state.releaseAll();
    this.output = null;
  }

  private onFrame(frame: Pn532Frame): void {
    if (frame.kind === 'ack') {
      this.abortCurrent();
    } else if (frame.kind === 'nack') {
      this.counters.nacksReceived++;
      if (this.lastResponse !== null) {
        this.counters.resends++;
        this.send(this.lastResponse);
      }
    } else if (frame.kind === 'error' || frame.tfi !== tfiHostToChip || frame.data.length === 0) {
      this.counters.ignoredFrames++; // not a command: a chip only takes D4 frames from its host
    } else if (this.faults.dropCommands > 0) {
      this.faults.dropCommands--;
      this.counters.ignoredFrames++;
    } else {
      this.abortCurrent();
      this.counters.commands++;
      this.counters.acksSent++;
      this.send(ackFrame, frame.data.length + 8); // the command's own bytes have to arrive before the chip can ACK
      void this.execute(frame.data);
    }
  }

  private async execute(command: Uint8Array): Promise<void> {
    const controller = new AbortController();
    this.current = controller;
    const code = command[0] ?? 0;
    let result;
    try {
      result = await runChipCommand({
        state: this.state, field: this.field, timing: this.timing, firmware: this.firmware,
        signal: controller.signal, targetAnswerTimeoutMs: this.targetAnswerTimeoutMs,
      }, code, command.subarray(1));
    } catch {
      if (controller.signal.aborted) return; // the host moved on: nothing to answer
      this.counters.internalErrors++; // a handler bug: answer as the chip does to what it cannot do
      result = 'syntax-error' as const;
    }
    if (controller.signal.aborted) return;
    this.current = null;
    const frame = result === 'syntax-error' ? errorFrame : encodeResponse(code + 1, result);
    if (result === 'syntax-error') this.counters.errorFramesSent++;
    this.lastResponse = frame;
    this.send(this.faults.corruptResponses > 0 ? this.corrupt(frame) : frame);
    if (code === pn532CommandCode.powerDown && this.state.powerDownRequested) {
      this.state.powerDownRequested = false;
      this.asleep = true;
    }
  }

  private abortCurrent(): void {
    if (this.current === null) return;
    this.counters.aborts++;
    this.current.abort();
    this.current = null;
  }

  /** Flips the DCS of one response; the NACK-driven resend carries the good copy. */
  private corrupt(frame: Uint8Array): Uint8Array {
    this.faults.corruptResponses--;
    const bad = frame.slice();
    const dcsIndex = bad.length - 2;
    bad[dcsIndex] = (bad[dcsIndex] ?? 0) ^ 0xff;
    return bad;
  }

  /**
   * Queues bytes for the host in order, delivered when their last byte would
   * have crossed the UART (after `extraBytes` more of incoming time). Due
   * times accumulate on the chip→host line, so sub-millisecond byte times add
   * up instead of being rounded away by each timer.
   */
  private send(bytes: Uint8Array, extraBytes = 0): void {
    const byteMs = this.timing.uartByteMs;
    if (byteMs > 0) {
      const start = Math.max(performance.now() + byteMs * extraBytes, this.lineFreeAtMs);
      this.lineFreeAtMs = start + byteMs * bytes.length;
    }
    const dueAtMs = this.lineFreeAtMs;
    this.sending = this.sending.then(async () => {
      const waitMs = dueAtMs - performance.now();
      if (byteMs > 0 && waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(waitMs)));
      try {
        this.output?.(bytes);
      } catch {
        this.counters.internalErrors++; // a closed transport: the bytes are lost, as on a cut wire
      }
    });
  }
}
