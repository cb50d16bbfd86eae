import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AppletCodecError, appletCommands, appletData, appletDataLimits, apduLimits, chainCommand, cla, decodeCommandApdu,
  decodeResponseApdu, encodeCommandApdu, encodeResponseApdu, isMoreData, moreDataBytes, moreDataSw, sw, swErrorCode, walletAid,
} from '../../protocol/applet.ts';
import type { CommandApdu, DataCodec } from '../../protocol/applet.ts';
import {
  admission, arbAdmission, arbAuthorizeCommand, arbHex, arbTicket, arbToken, arbUuidV7, authorizeRequest, ticket, token, walletId,
} from '../sim/phone/fixtures.ts';

/** Fuzz runs per decoder: enough to hit every branch of the TLV reader, cheap enough to stay well under a second each. */
const fuzzRuns = 2000;
const codecErrorCodes = new Set(['TS_ERR_APPLET_WRONG_LENGTH', 'TS_ERR_APPLET_WRONG_DATA', 'TS_ERR_APPLET_VERSION']);

/** Runs `decode`; a value or an AppletCodecError with a known code and matching SW are the only outcomes allowed. */
function decodesOrRefuses(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(AppletCodecError);
    const e = err as AppletCodecError;
    expect(codecErrorCodes.has(e.code)).toBe(true);
    expect(e.sw).toBe(e.code === 'TS_ERR_APPLET_WRONG_LENGTH' ? sw.wrongLength : sw.wrongData);
  }
}

function refusal(decode: () => unknown): AppletCodecError {
  try {
    decode();
  } catch (err) {
    if (err instanceof AppletCodecError) return err;
    throw err;
  }
  throw new Error('expected an AppletCodecError, the decoder accepted the input');
}

interface CodecCase { name: string; codec: DataCodec<unknown>; arb: fc.Arbitrary<unknown>; sample: unknown }
const cases: CodecCase[] = [
  { name: 'select response', codec: appletData.select, arb: fc.record({ appletVersion: fc.integer({ min: 1, max: 255 }) }), sample: { appletVersion: 1 } },
  { name: 'wallet info', codec: appletData.walletInfo, arb: fc.record({ walletId: arbUuidV7, counter: fc.integer({ min: 0, max: 0xffff_ffff }) }), sample: { walletId, counter: 7 } },
  { name: 'authorize command', codec: appletData.authorizeCommand, arb: arbAuthorizeCommand, sample: authorizeRequest() },
  {
    name: 'authorize response', codec: appletData.authorizeResponse,
    arb: fc.record({ walletId: arbUuidV7, counter: fc.integer({ min: 0, max: 0xffff_ffff }), cryptogram: arbHex(32) }), sample: { walletId, counter: 1, cryptogram: 'ab'.repeat(32) },
  },
  { name: 'admissions', codec: appletData.admissions, arb: fc.array(arbAdmission, { maxLength: 1 }), sample: [admission()] },
  { name: 'tickets', codec: appletData.tickets, arb: fc.array(arbTicket, { maxLength: 4 }), sample: [ticket(1), ticket(2)] },
  { name: 'e-money tokens', codec: appletData.emoneyTokens, arb: fc.array(arbToken, { maxLength: 4 }), sample: [token(0), token(1)] },
];

describe.each(cases)('applet data: $name', ({ codec, arb, sample }) => {
  it('round-trips every valid value, and re-encodes its own bytes identically', () => {
    fc.assert(fc.property(arb, (value) => {
      const bytes = codec.encode(value);
      const decoded = codec.decode(bytes);
      expect(decoded).toEqual(value);
      expect(Buffer.from(codec.encode(decoded)).equals(Buffer.from(bytes))).toBe(true);
    }), { numRuns: 200 });
  });

  it('refuses garbage, truncated, extended and bit-flipped input with a coded error only', () => {
    const valid = codec.encode(sample);
    const mutated = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.uint8Array({ maxLength: 600 }).map((tail) => Buffer.concat([Uint8Array.of(1), tail])),
      fc.integer({ min: 0, max: valid.byteLength - 1 }).map((n) => valid.slice(0, n)),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((tail) => Buffer.concat([valid, tail])),
      fc.tuple(fc.integer({ min: 0, max: valid.byteLength - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
        const copy = Uint8Array.from(valid);
        copy[at] = copy[at]! ^ x;
        return copy;
      }),
    );
    fc.assert(fc.property(mutated, (bytes) => decodesOrRefuses((b) => codec.decode(b), bytes)), { numRuns: fuzzRuns });
  });

  it('names the fault: empty and oversized data are lengths, a foreign version is a version, a truncation is data', () => {
    const valid = codec.encode(sample);
    expect(refusal(() => codec.decode(new Uint8Array(0))).code).toBe('TS_ERR_APPLET_WRONG_LENGTH');
    expect(refusal(() => codec.decode(new Uint8Array(appletDataLimits.responseDataBytesMax + 1).fill(1))).code).toBe('TS_ERR_APPLET_WRONG_LENGTH');
    expect(refusal(() => codec.decode(Buffer.concat([Uint8Array.of(2), valid.subarray(1)]))).code).toBe('TS_ERR_APPLET_VERSION');
    expect(refusal(() => codec.decode(valid.subarray(0, valid.byteLength - 1))).code).toBe('TS_ERR_APPLET_WRONG_DATA');
  });
});

describe('applet data: strictness', () => {
  it('refuses to encode values its schema refuses, naming the field', () => {
    const err = refusal(() => appletData.authorizeCommand.encode({ ...authorizeRequest(), deviceNonce: 'xyz' }));
    expect(err.code).toBe('TS_ERR_APPLET_WRONG_DATA');
    expect(err.message).toContain('deviceNonce');
    expect(refusal(() => appletData.tickets.encode([{ ...ticket(1), sig: `${ticket(1).sig.slice(0, 85)}B` }])).message).toContain('sig');
  });

  it('refuses a list longer than what a phone holds', () => {
    const seventeen = Array.from({ length: appletDataLimits.ticketsHeldMax + 1 }, (_, i) => ticket(i));
    expect(refusal(() => appletData.tickets.encode(seventeen)).code).toBe('TS_ERR_APPLET_WRONG_DATA');
    expect(refusal(() => appletData.admissions.encode([admission(), admission()])).code).toBe('TS_ERR_APPLET_WRONG_DATA');
  });

  it('fits the worst case — every held ticket and token with 3-byte UTF-8 names at their limits — inside the data limits', () => {
    const wide = '€'.repeat(64);
    const tickets = Array.from({ length: appletDataLimits.ticketsHeldMax }, (_, i) => ({ ...ticket(i), product: wide, keyId: wide }));
    const tokens = Array.from({ length: appletDataLimits.emoneyTokensHeldMax }, (_, i) => ({ ...token(i), keyId: wide }));
    expect(appletData.tickets.encode(tickets).byteLength).toBeLessThanOrEqual(appletDataLimits.responseDataBytesMax);
    expect(appletData.emoneyTokens.encode(tokens).byteLength).toBeLessThanOrEqual(appletDataLimits.commandDataBytesMax);
  });

  it('refuses reordered fields and non-minimal lengths although every byte is in range', () => {
    const bytes = appletData.walletInfo.encode({ walletId, counter: 5 });
    // version | 01 10 <16 bytes> | 02 04 <4 bytes>: swap the two items.
    const swapped = Buffer.concat([bytes.subarray(0, 1), bytes.subarray(19), bytes.subarray(1, 19)]);
    expect(refusal(() => appletData.walletInfo.decode(swapped)).code).toBe('TS_ERR_APPLET_WRONG_DATA');
    const longForm = Buffer.concat([bytes.subarray(0, 2), Uint8Array.of(0x81), bytes.subarray(2)]);
    expect(refusal(() => appletData.walletInfo.decode(longForm)).message).toContain('shortest');
  });
});

const arbCommand: fc.Arbitrary<CommandApdu> = fc.record({
  cla: fc.integer({ min: 0, max: 255 }), ins: fc.integer({ min: 0, max: 255 }), p1: fc.integer({ min: 0, max: 255 }), p2: fc.integer({ min: 0, max: 255 }),
  data: fc.uint8Array({ maxLength: 255 }), ne: fc.option(fc.integer({ min: 1, max: 256 })),
});

describe('APDU framing', () => {
  it('round-trips the four short cases', () => {
    fc.assert(fc.property(arbCommand, (cmd) => {
      expect(decodeCommandApdu(encodeCommandApdu(cmd))).toEqual(cmd);
    }), { numRuns: 1000 });
    expect(Buffer.from(encodeCommandApdu(appletCommands.select())).toString('hex')).toBe(`00a4040007${Buffer.from(walletAid).toString('hex')}00`);
  });

  it('round-trips responses', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 0, max: 0xffff }), (data, status) => {
      expect(decodeResponseApdu(encodeResponseApdu(data, status))).toEqual({ data, sw: status });
    }), { numRuns: 500 });
  });

  it('refuses malformed command and response APDUs with a coded error only', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      decodesOrRefuses(decodeCommandApdu, bytes);
      decodesOrRefuses(decodeResponseApdu, bytes);
    }), { numRuns: fuzzRuns });
    expect(refusal(() => decodeCommandApdu(Uint8Array.of(0x80, 0x10, 0, 0, 0, 0, 1))).message).toContain('extended');
    expect(refusal(() => decodeCommandApdu(Uint8Array.of(0x80, 0x10, 0, 0, 3, 1))).code).toBe('TS_ERR_APPLET_WRONG_LENGTH');
    expect(refusal(() => decodeResponseApdu(Uint8Array.of(0x90))).code).toBe('TS_ERR_APPLET_WRONG_LENGTH');
    expect(refusal(() => encodeCommandApdu({ ...appletCommands.getWallet(), data: new Uint8Array(256) })).code).toBe('TS_ERR_APPLET_WRONG_LENGTH');
  });

  it('chains long commands: the chunks carry the data in order, all but the last flagged and without Le', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 255 }), (data, chunkBytes) => {
      const chunks = chainCommand(appletCommands.putTicket(data), chunkBytes);
      expect(Buffer.concat(chunks.map((c) => c.data)).equals(Buffer.from(data))).toBe(true);
      chunks.forEach((c, i) => {
        const last = i === chunks.length - 1;
        expect(c.data.byteLength).toBeLessThanOrEqual(chunkBytes);
        expect(c.cla).toBe(last ? cla.proprietary : cla.proprietary | cla.chainingBit);
        expect(c.ne).toBe(last ? 256 : null);
        expect(encodeCommandApdu(c).byteLength).toBeLessThanOrEqual(apduLimits.commandApduBytesMax);
      });
    }), { numRuns: 300 });
  });

  it('announces and reads back the bytes left behind 61xx', () => {
    expect(moreDataSw(10)).toBe(0x610a);
    expect(moreDataSw(256)).toBe(0x6100);
    expect(moreDataSw(5000)).toBe(0x6100);
    expect(moreDataBytes(0x6100)).toBe(256);
    expect(moreDataBytes(0x610a)).toBe(10);
    expect(isMoreData(0x6100) && !isMoreData(sw.ok)).toBe(true);
    expect(swErrorCode(sw.appletNotFound)).toBe('TS_ERR_APPLET_NOT_FOUND');
    expect(swErrorCode(0x6281)).toBe('TS_ERR_APPLET_STATUS');
  });
});
