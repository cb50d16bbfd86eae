/**
 * Streaming PN532 frame parser: bytes in any chunking → frames. Ours rather
 * than @serialport/parser-packet-length, which never resynchronises after a
 * stray byte before the 00 FF start code.
 *
 * Rules: hunt for 00 FF; check LCS, then DCS and TFI; on any rejection resume
 * the hunt one byte after the rejected start code, so a good frame hidden
 * under a bad header's claimed length is still found. The buffer never holds
 * more than bufferBytesMax bytes: a chunk is taken in slices, and after each
 * slice only an incomplete frame (< frameBytesMax) stays behind.
 *
 * A stray header such as 00 FF 80 80 claims 128 bytes and would hold a real
 * frame behind it until that many more bytes arrive. So the owner calls
 * flush() when the line has been idle (a chip sends a frame back to back):
 * the incomplete candidate is dropped and whatever follows it is decoded.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { byteSum, extendedFrameDataBytesMax, frameBytesMax, tfiChipToHost, tfiError, tfiHostToChip } from './frame.ts';
import type { Pn532Frame } from './frame.ts';

/** Two longest frames' worth: room for a whole frame behind an incomplete one, still tiny. */
export const defaultBufferBytesMax = 2 * frameBytesMax;

export interface Pn532ParserCounters {
  framesDecoded: number;
  /** Non-zero bytes skipped while hunting for a start code (zeros are preamble/postamble). */
  garbageBytes: number;
  badLengthChecksum: number;
  badDataChecksum: number;
  /** Checksums fine but a TFI that is neither D4, D5 nor the error frame's 7F. */
  badTfi: number;
  /** An extended frame longer than the chip can buffer. */
  oversize: number;
  /** Incomplete frames given up by flush() when the line went idle. */
  abandoned: number;
}

type RejectReason = 'badLengthChecksum' | 'badDataChecksum' | 'badTfi' | 'oversize';
export type Pn532FrameAttempt =
  | { readonly outcome: 'incomplete' }
  | { readonly outcome: 'reject'; readonly reason: RejectReason }
  | { readonly outcome: 'frame'; readonly frame: Pn532Frame; readonly end: number };

const incomplete: Pn532FrameAttempt = { outcome: 'incomplete' };
const reject = (reason: RejectReason): Pn532FrameAttempt => ({ outcome: 'reject', reason });

/** Decodes the frame whose start code 00 FF begins at `start`, looking no further than `end`. */
export function decodeFrameAt(buf: Uint8Array, start: number, end: number): Pn532FrameAttempt {
  const h = start + 2;
  if (end - h < 2) return incomplete;
  const b0 = buf[h] ?? 0;
  const b1 = buf[h + 1] ?? 0;
  if (b0 === 0x00 && b1 === 0xff) return { outcome: 'frame', frame: { kind: 'ack' }, end: h + 2 };
  if (b0 === 0xff && b1 === 0x00) return { outcome: 'frame', frame: { kind: 'nack' }, end: h + 2 };
  let len: number;
  let body: number;
  const extended = b0 === 0xff && b1 === 0xff;
  if (extended) {
    if (end - h < 5) return incomplete;
    const lenM = buf[h + 2] ?? 0;
    const lenL = buf[h + 3] ?? 0;
    if (((lenM + lenL + (buf[h + 4] ?? 0)) & 0xff) !== 0) return reject('badLengthChecksum');
    len = lenM * 256 + lenL;
    if (len > extendedFrameDataBytesMax + 1) return reject('oversize');
    body = h + 5;
  } else {
    if (((b0 + b1) & 0xff) !== 0) return reject('badLengthChecksum');
    len = b0;
    body = h + 2;
  }
  if (len === 0) return reject('badLengthChecksum'); // LEN counts the TFI, so it is never 0
  if (end - body < len + 1) return incomplete;
  if (((byteSum(buf, body, body + len) + (buf[body + len] ?? 0)) & 0xff) !== 0) return reject('badDataChecksum');
  const tfi = buf[body] ?? 0;
  const frameEnd = body + len + 1;
  if (tfi === tfiError && len === 1 && !extended) return { outcome: 'frame', frame: { kind: 'error' }, end: frameEnd };
  if (tfi !== tfiHostToChip && tfi !== tfiChipToHost) return reject('badTfi');
  return { outcome: 'frame', frame: { kind: 'info', tfi, data: buf.slice(body + 1, body + len) }, end: frameEnd };
}

export class Pn532FrameParser {
  readonly bufferBytesMax: number;
  readonly counters: Pn532ParserCounters = {
    framesDecoded: 0, garbageBytes: 0, badLengthChecksum: 0, badDataChecksum: 0, badTfi: 0, oversize: 0, abandoned: 0,
  };
  /** Most bytes the buffer ever held: evidence for the bound, read by tests and metrics. */
  bufferHighWaterBytes = 0;
  private readonly buffer: Uint8Array;
  private length = 0;

  constructor(options: { bufferBytesMax?: number } = {}) {
    const bufferBytesMax = options.bufferBytesMax ?? defaultBufferBytesMax;
    if (!Number.isInteger(bufferBytesMax) || bufferBytesMax < frameBytesMax) {
      throw new RangeError(`bufferBytesMax must be an integer >= ${frameBytesMax} (the longest frame), got ${bufferBytesMax}`);
    }
    this.bufferBytesMax = bufferBytesMax;
    this.buffer = new Uint8Array(bufferBytesMax);
  }

  get bufferedBytes(): number {
    return this.length;
  }

  /** Frames rejected so far, all reasons together. */
  get rejectedFrames(): number {
    const c = this.counters;
    return c.badLengthChecksum + c.badDataChecksum + c.badTfi + c.oversize + c.abandoned;
  }

  /** Feeds bytes; returns the frames completed by them, in order. Never throws on any input. */
  push(chunk: Uint8Array): Pn532Frame[] {
    const frames: Pn532Frame[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.bufferBytesMax - this.length, chunk.length - offset);
      if (take <= 0) throw new Error(`parser invariant broken: ${this.length} bytes buffered, no room left`);
      this.buffer.set(chunk.subarray(offset, offset + take), this.length);
      this.length += take;
      offset += take;
      this.bufferHighWaterBytes = Math.max(this.bufferHighWaterBytes, this.length);
      this.drain(frames);
    }
    return frames;
  }

  /**
   * The line went idle: no incomplete frame will be completed. Gives each one
   * up (resuming the hunt one byte after its start code) and returns the
   * frames found behind them. Leaves the buffer empty.
   */
  flush(): Pn532Frame[] {
    const frames: Pn532Frame[] = [];
    while (this.length > 0) {
      if (this.buffer[0] === 0x00 && this.buffer[1] === 0xff && this.length >= 2) {
        this.counters.abandoned++;
        this.drain(frames, 1);
      } else {
        this.length = 0; // a lone trailing 00: preamble of nothing
      }
    }
    return frames;
  }

  /** Drops buffered bytes (after the link was reset). */
  reset(): void {
    this.length = 0;
  }

  private drain(frames: Pn532Frame[], from = 0): void {
    const buf = this.buffer;
    let pos = from;
    while (pos < this.length) {
      const start = findStartCode(buf, pos, this.length);
      // Without a start code, keep a trailing 00: it may be the first half of the next one.
      const skipTo = start >= 0 ? start : buf[this.length - 1] === 0x00 ? this.length - 1 : this.length;
      this.counters.garbageBytes += countNonZero(buf, pos, skipTo);
      pos = skipTo;
      if (start < 0) break;
      const attempt = decodeFrameAt(buf, start, this.length);
      if (attempt.outcome === 'incomplete') break;
      if (attempt.outcome === 'reject') {
        this.counters[attempt.reason]++;
        pos = start + 1;
        continue;
      }
      this.counters.framesDecoded++;
      frames.push(attempt.frame);
      pos = attempt.end;
    }
    buf.copyWithin(0, pos, this.length);
    this.length -= pos;
  }
}

function findStartCode(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) {
    if (buf[i] === 0x00 && buf[i + 1] === 0xff) return i;
  }
  return -1;
}

function countNonZero(buf: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (buf[i] !== 0x00) n++;
  return n;
}

/** The parser as a stream stage: bytes in, Pn532Frame objects out. */
export class Pn532FrameStream extends Transform {
  readonly parser: Pn532FrameParser;

  constructor(options: { bufferBytesMax?: number } = {}) {
    super({ readableObjectMode: true });
    this.parser = new Pn532FrameParser(options);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const frame of this.parser.push(chunk)) this.push(frame);
    callback();
  }
}
