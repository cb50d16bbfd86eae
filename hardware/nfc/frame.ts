/**
 * PN532 frame codec (NXP PN532 User Manual §6.2.1; libnfc pn53x.c). Pure
 * functions, no I/O: bytes in, bytes out.
 *
 *   normal:   00 | 00 FF | LEN | LCS | TFI | PD0..PDn | DCS | 00
 *   extended: 00 | 00 FF | FF FF | LENm LENl | LCS | TFI | PD0..PDn | DCS | 00
 *   ACK 00 00 FF 00 FF 00   NACK 00 00 FF FF 00 00   error 00 00 FF 01 FF 7F 81 00
 */
import { Pn532Error } from './errors.ts';

/** TFI of a frame from the host to the chip. */
export const tfiHostToChip = 0xd4;
/** TFI of a frame from the chip to the host. */
export const tfiChipToHost = 0xd5;
/** TFI of the chip's application-level error frame. */
export const tfiError = 0x7f;

/** Data bytes (PD0..PDn, TFI not counted) a normal frame can carry: LEN is one byte and counts the TFI. */
export const normalFrameDataBytesMax = 254;
/**
 * Data bytes an extended frame can carry. The PN532 buffers 264 bytes of
 * data (UM §6.2.1.2); larger frames are line noise, not a chip.
 */
export const extendedFrameDataBytesMax = 264;
/** Longest frame on the wire: preamble, 00 FF, FF FF, LENm, LENl, LCS, TFI, data, DCS, postamble. */
export const frameBytesMax = 1 + 2 + 2 + 2 + 1 + 1 + extendedFrameDataBytesMax + 1 + 1;

export const ackFrame: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0x00, 0xff, 0x00);
export const nackFrame: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff, 0x00, 0x00);
export const errorFrame: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00);

export type Pn532Frame =
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  /** The chip's "syntax error" frame: it understood the framing, not the command. */
  | { readonly kind: 'error' }
  | { readonly kind: 'info'; readonly tfi: number; readonly data: Uint8Array };

/** Sum of bytes mod 256. */
export function byteSum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return sum;
}

/** The checksum byte that makes (sum + checksum) & 0xFF == 0. */
export const checksumOf = (sum: number): number => (0x100 - (sum & 0xff)) & 0xff;

/** Encodes an information frame; an extended frame only when the data does not fit in a normal one, as the chip does. */
export function encodeInformationFrame(tfi: number, data: Uint8Array): Uint8Array {
  if (data.length > extendedFrameDataBytesMax) {
    throw new Pn532Error('TS_ERR_PN532_FRAME_TOO_LONG', `${data.length} data bytes, at most ${extendedFrameDataBytesMax}`);
  }
  const len = data.length + 1; // LEN counts the TFI
  const extended = data.length > normalFrameDataBytesMax;
  const header = extended
    ? [0x00, 0x00, 0xff, 0xff, 0xff, len >> 8, len & 0xff, checksumOf((len >> 8) + (len & 0xff))]
    : [0x00, 0x00, 0xff, len, checksumOf(len)];
  const frame = new Uint8Array(header.length + 1 + data.length + 2);
  frame.set(header, 0);
  frame[header.length] = tfi;
  frame.set(data, header.length + 1);
  frame[header.length + 1 + data.length] = checksumOf(tfi + byteSum(data));
  frame[frame.length - 1] = 0x00;
  return frame;
}

/** A host command: TFI D4, command code, parameters. */
export const encodeCommand = (code: number, params: Uint8Array = new Uint8Array(0)): Uint8Array =>
  encodeInformationFrame(tfiHostToChip, concatBytes(Uint8Array.of(code), params));

/** A chip response: TFI D5, response code (command + 1), data. */
export const encodeResponse = (responseCode: number, data: Uint8Array = new Uint8Array(0)): Uint8Array =>
  encodeInformationFrame(tfiChipToHost, concatBytes(Uint8Array.of(responseCode), data));

export function encodeFrame(frame: Pn532Frame): Uint8Array {
  switch (frame.kind) {
    case 'ack': return ackFrame.slice();
    case 'nack': return nackFrame.slice();
    case 'error': return errorFrame.slice();
    case 'info': return encodeInformationFrame(frame.tfi, frame.data);
  }
}

/**
 * Zero bytes libnfc sends after 55 55 (pn532_uart.c): at 115200 baud they keep
 * the line busy for ~1.2 ms while the chip's oscillator starts.
 */
export const wakeupZeroBytes = 14;

/** HSU wakeup from power-down: 55 55 then zeros, to be followed by SAMConfiguration. */
export function wakeupSequence(zeroBytes = wakeupZeroBytes): Uint8Array {
  const bytes = new Uint8Array(2 + zeroBytes);
  bytes[0] = 0x55;
  bytes[1] = 0x55;
  return bytes;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
