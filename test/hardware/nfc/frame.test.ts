import { describe, expect, it } from 'vitest';
import { isPn532Error } from '../../../hardware/nfc/errors.ts';
import {
  ackFrame, encodeCommand, encodeFrame, encodeInformationFrame, encodeResponse, errorFrame, extendedFrameDataBytesMax,
  frameBytesMax, nackFrame, normalFrameDataBytesMax, tfiChipToHost, tfiHostToChip, wakeupSequence,
} from '../../../hardware/nfc/frame.ts';
import type { Pn532Frame } from '../../../hardware/nfc/frame.ts';
import { Pn532FrameParser, Pn532FrameStream } from '../../../hardware/nfc/frame-parser.ts';

const hex = (text: string): Uint8Array => Uint8Array.from(text.split(' ').map((b) => parseInt(b, 16)));
const bytes = (n: number, seed = 7): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const parseAll = (input: Uint8Array): Pn532Frame[] => new Pn532FrameParser().push(input);

describe('PN532 frame codec: the worked frames of REFERENCE.md, byte for byte', () => {
  it('GetFirmwareVersion', () => {
    expect(encodeCommand(0x02)).toEqual(hex('00 00 FF 02 FE D4 02 2A 00'));
  });

  it('SAMConfiguration, normal mode, and its answer', () => {
    expect(encodeCommand(0x14, Uint8Array.of(0x01))).toEqual(hex('00 00 FF 03 FD D4 14 01 17 00'));
    expect(encodeResponse(0x15)).toEqual(hex('00 00 FF 02 FE D5 15 16 00'));
    expect(parseAll(hex('00 00 FF 02 FE D5 15 16 00'))).toEqual([{ kind: 'info', tfi: tfiChipToHost, data: Uint8Array.of(0x15) }]);
  });

  it('InListPassiveTarget, one target, 106 kbps type A', () => {
    expect(encodeCommand(0x4a, Uint8Array.of(0x01, 0x00))).toEqual(hex('00 00 FF 04 FC D4 4A 01 00 E1 00'));
  });

  it('ACK, NACK and the error frame', () => {
    expect(ackFrame).toEqual(hex('00 00 FF 00 FF 00'));
    expect(nackFrame).toEqual(hex('00 00 FF FF 00 00'));
    expect(errorFrame).toEqual(hex('00 00 FF 01 FF 7F 81 00'));
    expect(parseAll(hex('00 00 FF 00 FF 00 00 00 FF FF 00 00 00 00 FF 01 FF 7F 81 00'))).toEqual([
      { kind: 'ack' }, { kind: 'nack' }, { kind: 'error' },
    ]);
  });

  it('HSU wakeup: 55 55 then 14 zeros, as libnfc sends it', () => {
    expect(wakeupSequence()).toEqual(Uint8Array.of(0x55, 0x55, ...new Uint8Array(14)));
    expect(parseAll(wakeupSequence())).toEqual([]);
  });
});

describe('PN532 frame codec: normal and extended frames', () => {
  it('uses a normal frame up to 254 data bytes and an extended one above', () => {
    const normal = encodeInformationFrame(tfiHostToChip, bytes(normalFrameDataBytesMax));
    expect(normal.subarray(0, 5)).toEqual(hex('00 00 FF FF 01')); // LEN 255 (TFI + 254), LCS 01: not an extended marker
    expect(normal.length).toBe(normalFrameDataBytesMax + 8);
    const extended = encodeInformationFrame(tfiHostToChip, bytes(normalFrameDataBytesMax + 1));
    expect(extended.subarray(0, 8)).toEqual(hex('00 00 FF FF FF 01 00 FF')); // LENm 01 LENl 00 (256), LCS FF
  });

  it.each([0, 1, 100, 253, 254, 255, 256, 263, 264])('round-trips %i data bytes through encode and the parser', (n) => {
    for (const tfi of [tfiHostToChip, tfiChipToHost]) {
      const frame: Pn532Frame = { kind: 'info', tfi, data: bytes(n, n) };
      const encoded = encodeFrame(frame);
      expect(encoded.length).toBeLessThanOrEqual(frameBytesMax);
      expect(parseAll(encoded)).toEqual([frame]);
    }
  });

  it('round-trips ACK, NACK and error through encodeFrame', () => {
    const frames: Pn532Frame[] = [{ kind: 'ack' }, { kind: 'nack' }, { kind: 'error' }];
    for (const frame of frames) expect(parseAll(encodeFrame(frame))).toEqual([frame]);
  });

  it('refuses more data than an extended frame carries, with a coded error', () => {
    let thrown: unknown;
    try {
      encodeInformationFrame(tfiHostToChip, bytes(extendedFrameDataBytesMax + 1));
    } catch (error) {
      thrown = error;
    }
    expect(isPn532Error(thrown, 'TS_ERR_PN532_FRAME_TOO_LONG')).toBe(true);
    expect(() => encodeCommand(0x40, bytes(300))).toThrow(/does not fit/);
  });
});

describe('PN532 frame parser: rejections are counted', () => {
  it('counts a bad LCS, a bad DCS, a bad TFI and an oversize extended frame, and still finds the next frame', () => {
    const good = encodeResponse(0x03, hex('32 01 06 07'));
    const badLcs = hex('00 00 FF 03 FC D5 15 16 00');
    const badDcs = hex('00 00 FF 02 FE D5 15 17 00');
    const badTfi = encodeInformationFrame(0x12, hex('01 02'));
    const oversize = hex('00 00 FF FF FF 02 00 FE D5');
    const parser = new Pn532FrameParser();
    const frames = parser.push(Uint8Array.of(...badLcs, ...badDcs, ...badTfi, ...oversize, 0x99, ...good));
    expect(frames).toEqual([{ kind: 'info', tfi: tfiChipToHost, data: hex('03 32 01 06 07') }]);
    expect(parser.counters).toMatchObject({ badLengthChecksum: 1, badDataChecksum: 1, badTfi: 1, oversize: 1, framesDecoded: 1 });
    expect(parser.counters.garbageBytes).toBeGreaterThan(0);
  });

  it('flush() gives up a stray header that claims more bytes than will come, and finds the frame behind it', () => {
    const parser = new Pn532FrameParser();
    const good = encodeResponse(0x15);
    expect(parser.push(Uint8Array.of(0x00, 0xff, 0x80, 0x80, ...good))).toEqual([]); // held behind the 128-byte claim
    expect(parser.flush()).toEqual([{ kind: 'info', tfi: tfiChipToHost, data: Uint8Array.of(0x15) }]);
    expect(parser.counters.abandoned).toBe(1);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('validates bufferBytesMax against the longest frame', () => {
    expect(() => new Pn532FrameParser({ bufferBytesMax: frameBytesMax - 1 })).toThrow(/bufferBytesMax/);
    expect(new Pn532FrameParser({ bufferBytesMax: frameBytesMax }).bufferBytesMax).toBe(frameBytesMax);
  });

  it('works as a Transform stream stage', async () => {
    const stream = new Pn532FrameStream();
    const seen: Pn532Frame[] = [];
    stream.on('data', (frame: Pn532Frame) => seen.push(frame));
    const input = Uint8Array.of(...ackFrame, ...encodeResponse(0x15));
    stream.write(Buffer.from(input.subarray(0, 7)));
    stream.end(Buffer.from(input.subarray(7)));
    await new Promise((resolve) => stream.on('end', resolve));
    expect(seen).toEqual([{ kind: 'ack' }, { kind: 'info', tfi: tfiChipToHost, data: Uint8Array.of(0x15) }]);
  });
});
