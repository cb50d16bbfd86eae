/**
 * A second, deliberately plain PN532 frame decoder for differential fuzzing:
 * whole input at once, no buffer, no chunks, positions reported. Written from
 * the frame layout in REFERENCE.md, sharing no code with frame-parser.ts.
 */
import type { Pn532Frame } from '../../../hardware/nfc/frame.ts';

export interface LocatedFrame {
  readonly frame: Pn532Frame;
  /** Index of the 00 of the 00 FF start code. */
  readonly start: number;
  /** Index just after the DCS (or after the ACK/NACK code). */
  readonly end: number;
}

type Try = { frame: Pn532Frame; end: number } | 'invalid' | 'short';

function tryAt(b: Uint8Array, i: number): Try {
  const byte = (k: number): number => b[i + k] ?? 0;
  if (b.length - i < 4) return 'short';
  const [x, y] = [byte(2), byte(3)];
  if (x === 0x00 && y === 0xff) return { frame: { kind: 'ack' }, end: i + 4 };
  if (x === 0xff && y === 0x00) return { frame: { kind: 'nack' }, end: i + 4 };
  const extended = x === 0xff && y === 0xff;
  let len: number;
  let body: number;
  if (extended) {
    if (b.length - i < 7) return 'short';
    if ((byte(4) + byte(5) + byte(6)) % 256 !== 0) return 'invalid';
    len = byte(4) * 256 + byte(5);
    if (len > 265) return 'invalid';
    body = i + 7;
  } else {
    if ((x + y) % 256 !== 0) return 'invalid';
    len = x;
    body = i + 4;
  }
  if (len === 0) return 'invalid';
  if (b.length < body + len + 1) return 'short';
  let sum = 0;
  for (let k = body; k <= body + len; k++) sum += b[k] ?? 0;
  if (sum % 256 !== 0) return 'invalid';
  const tfi = b[body] ?? 0;
  if (tfi === 0x7f && len === 1 && !extended) return { frame: { kind: 'error' }, end: body + 2 };
  if (tfi !== 0xd4 && tfi !== 0xd5) return 'invalid';
  return { frame: { kind: 'info', tfi, data: b.slice(body + 1, body + len) }, end: body + len + 1 };
}

/**
 * `idleAtEnd`: the line went quiet after the input, so an incomplete frame is
 * given up and the search goes on behind it (the parser's flush()); otherwise
 * decoding stops at the first incomplete frame, waiting for more bytes.
 */
export function referenceDecode(b: Uint8Array, idleAtEnd: boolean): LocatedFrame[] {
  const found: LocatedFrame[] = [];
  let i = 0;
  while (i + 1 < b.length) {
    if (b[i] !== 0x00 || b[i + 1] !== 0xff) {
      i++;
      continue;
    }
    const attempt = tryAt(b, i);
    if (attempt === 'short' && !idleAtEnd) break;
    if (attempt === 'short' || attempt === 'invalid') {
      i++;
      continue;
    }
    found.push({ frame: attempt.frame, start: i, end: attempt.end });
    i = attempt.end;
  }
  return found;
}
