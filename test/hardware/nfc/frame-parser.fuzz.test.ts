/**
 * Fuzzing the streaming parser (DESIGN §11: every boundary is fuzzed).
 * Against a plain reference decoder (frame-reference.ts), with random chunk
 * boundaries: it never throws, its buffer never passes bufferBytesMax, it
 * finds the same frames as the reference in any chunking, and every intact
 * frame placed after garbage is found, unless bytes of the garbage happen to
 * form a checksum-valid frame that overlaps it (a collision, counted below).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame, frameBytesMax } from '../../../hardware/nfc/frame.ts';
import type { Pn532Frame } from '../../../hardware/nfc/frame.ts';
import { Pn532FrameParser } from '../../../hardware/nfc/frame-parser.ts';
import { referenceDecode } from './frame-reference.ts';

/** Runs per property; together > 100,000 inputs, sized to keep the suite to a few seconds on 2 cores. */
const runs = { randomBytes: 50_000, garbageThenFrames: 30_000, mutatedStreams: 25_000 };
const stats = { inputs: 0, bytes: 0, intactFrames: 0, collisions: 0 };

const frameArb: fc.Arbitrary<Pn532Frame> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<Pn532Frame>({ kind: 'ack' }, { kind: 'nack' }, { kind: 'error' }) },
  { weight: 24, arbitrary: fc.record({ kind: fc.constant('info' as const), tfi: fc.constantFrom(0xd4, 0xd5), data: fc.uint8Array({ maxLength: 16 }) }) },
  // Extended frames are long, so rare here: enough to exercise their header paths; round trips are in frame.test.ts.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('info' as const), tfi: fc.constantFrom(0xd4, 0xd5), data: fc.uint8Array({ minLength: 255, maxLength: 264 }) }) },
);

/** Plain checks in the hot loop: vitest's expect costs more than the parser; fast-check reports the input on a throw. */
function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function sameFrame(a: Pn532Frame | undefined, b: Pn532Frame | undefined): boolean {
  if (a === undefined || b === undefined || a.kind !== b.kind) return false;
  if (a.kind !== 'info' || b.kind !== 'info') return true;
  return a.tfi === b.tfi && a.data.length === b.data.length && a.data.every((x, i) => x === b.data[i]);
}

const sameFrames = (a: Pn532Frame[], b: Pn532Frame[]): boolean => a.length === b.length && a.every((f, i) => sameFrame(f, b[i]));

/** Bytes rich in the values that make headers: 00, FF, D4, D5, 7F and small lengths. */
const headerBytes = [0x00, 0xff, 0xd4, 0xd5, 0x7f, 0x01, 0x02, 0xfe, 0x80];
const noisyBytes = fc.uint8Array({ maxLength: 40 }).map((raw) =>
  Uint8Array.from(raw, (b) => (b < 128 ? (headerBytes[b % headerBytes.length] ?? b) : b)));

type Segment = { intact: Pn532Frame | null; bytes: Uint8Array };

const garbageArb: fc.Arbitrary<Segment> = fc.oneof(
  noisyBytes.map((bytes) => ({ intact: null, bytes })),
  fc.tuple(frameArb, fc.double({ min: 0, max: 1, noNaN: true })).map(([frame, cut]) => {
    const encoded = encodeFrame(frame); // a truncated frame
    return { intact: null, bytes: encoded.subarray(0, 1 + Math.floor(cut * (encoded.length - 2))) };
  }),
  fc.tuple(frameArb, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([frame, at, xor]) => {
    const bytes = encodeFrame(frame).slice(); // a bad checksum, length or code somewhere past the start code
    const index = 3 + (at % (bytes.length - 4));
    bytes[index] = (bytes[index] ?? 0) ^ xor;
    return { intact: null, bytes };
  }),
  fc.constantFrom(Uint8Array.of(0x00, 0xff), Uint8Array.of(0x00, 0x00, 0xff), Uint8Array.of(0x00, 0xff, 0xff), Uint8Array.of(0x00, 0xff, 0x80, 0x80))
    .map((bytes) => ({ intact: null, bytes })),
);

const streamArb = fc.array(fc.oneof(garbageArb, frameArb.map((frame) => ({ intact: frame, bytes: encodeFrame(frame) }))), { minLength: 1, maxLength: 8 });
const cutsArb = fc.array(fc.nat(), { maxLength: 8 });

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

/** Feeds chunks, checks the bound after each, returns frames before and after the idle flush. */
function parse(chunks: Uint8Array[], bufferBytesMax?: number): { streaming: Pn532Frame[]; all: Pn532Frame[] } {
  const parser = new Pn532FrameParser(bufferBytesMax === undefined ? {} : { bufferBytesMax });
  const streaming: Pn532Frame[] = [];
  for (const chunk of chunks) {
    streaming.push(...parser.push(chunk));
    check(parser.bufferedBytes <= parser.bufferBytesMax, `buffer ${parser.bufferedBytes} > ${parser.bufferBytesMax}`);
  }
  const all = [...streaming, ...parser.flush()];
  check(parser.bufferHighWaterBytes <= parser.bufferBytesMax, `high water ${parser.bufferHighWaterBytes} > ${parser.bufferBytesMax}`);
  check(parser.bufferedBytes === 0, 'flush() left bytes behind');
  return { streaming, all };
}

function checkAgainstReference(bytes: Uint8Array, cuts: number[], bufferBytesMax?: number): void {
  stats.inputs++;
  stats.bytes += bytes.length;
  const { streaming, all } = parse(split(bytes, cuts), bufferBytesMax);
  check(sameFrames(streaming, referenceDecode(bytes, false).map((f) => f.frame)), 'streaming frames differ from the reference');
  check(sameFrames(all, referenceDecode(bytes, true).map((f) => f.frame)), 'frames after flush differ from the reference');
}

describe('PN532 frame parser fuzz', () => {
  afterAll(() => {
    expect(stats.inputs).toBeGreaterThanOrEqual(100_000);
    console.info(`parser fuzz: ${stats.inputs} inputs, ${stats.bytes} bytes, ${stats.intactFrames} intact frames, ${stats.collisions} lost to checksum collisions with garbage`);
  });

  it('random bytes in random chunks: never throws, stays bounded, agrees with the reference', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 96 }), noisyBytes), cutsArb, fc.boolean(), (bytes, cuts, tight) => {
      checkAgainstReference(bytes, cuts, tight ? frameBytesMax : undefined);
    }), { numRuns: runs.randomBytes });
  });

  it('garbage, truncated frames, bad checksums and stray 00 FF before valid frames: every valid frame is found, in any chunking', () => {
    fc.assert(fc.property(streamArb, cutsArb, cutsArb, (segments, cutsA, cutsB) => {
      const bytes = Uint8Array.from(segments.flatMap((s) => [...s.bytes]));
      checkAgainstReference(bytes, cutsA, frameBytesMax);
      const located = referenceDecode(bytes, true);
      const a = parse(split(bytes, cutsA)).all;
      check(sameFrames(parse(split(bytes, cutsB)).all, a), 'another chunking gave other frames');
      let offset = 0;
      for (const segment of segments) {
        if (segment.intact !== null) {
          stats.intactFrames++;
          const start = offset + 1; // encoded frames begin with the 00 preamble
          const end = offset + segment.bytes.length - 1; // and end with the 00 postamble
          const exact = located.some((f) => f.start === start && f.end === end);
          const collision = located.some((f) => f.start < end && f.end > start && !(f.start === start && f.end === end));
          if (collision) stats.collisions++;
          check(exact || collision, `intact frame at ${start} not found`);
          const intact = segment.intact;
          if (exact) check(a.some((f) => sameFrame(f, intact)), `intact frame at ${start} missing from the parser's output`);
        }
        offset += segment.bytes.length;
      }
    }), { numRuns: runs.garbageThenFrames });
  });

  it('mutated valid streams (flipped, inserted, deleted, duplicated bytes) agree with the reference', () => {
    const mutation = fc.tuple(fc.constantFrom('flip', 'insert', 'delete', 'duplicate'), fc.nat(), fc.integer({ min: 1, max: 255 }));
    fc.assert(fc.property(fc.array(frameArb, { minLength: 1, maxLength: 4 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), cutsArb, (frames, mutations, cuts) => {
      const bytes = frames.flatMap((f) => [...encodeFrame(f)]);
      for (const [kind, at, value] of mutations) {
        const i = at % bytes.length;
        if (kind === 'flip') bytes[i] = (bytes[i] ?? 0) ^ value;
        else if (kind === 'insert') bytes.splice(i, 0, value);
        else if (kind === 'delete' && bytes.length > 1) bytes.splice(i, 1);
        else if (kind === 'duplicate') bytes.splice(i, 0, ...bytes.slice(i, i + (value % 12)));
      }
      checkAgainstReference(Uint8Array.from(bytes), cuts);
    }), { numRuns: runs.mutatedStreams });
  });

  it('one huge chunk of noise: the buffer stays within bufferBytesMax', () => {
    const parser = new Pn532FrameParser({ bufferBytesMax: frameBytesMax });
    const noise = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i % 7 === 0 ? 0x00 : (i * 2654435761) >>> 24));
    noise.set(encodeFrame({ kind: 'info', tfi: 0xd5, data: Uint8Array.of(0x03, 0x32) }), noise.length - 20);
    const frames = parser.push(noise);
    expect(parser.bufferHighWaterBytes).toBeLessThanOrEqual(frameBytesMax);
    expect(frames).toContainEqual({ kind: 'info', tfi: 0xd5, data: Uint8Array.of(0x03, 0x32) });
  });
});
