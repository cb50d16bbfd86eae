/**
 * The TLV encoding of the data fields carried inside the wallet applet's APDUs (applet.ts):
 *
 *   data   = version item*            version = 0x01
 *   item   = tag length value         tag: one byte, from `appletTags`
 *   length = 00..7F | 81 LL | 82 LL LL  (BER, shortest form only)
 *
 * A record (a purchase, a ticket, ...) is its fields as items in one fixed
 * order; a list is one container item per record. Binary rather than JSON
 * because every APDU costs a round trip at the gate: a ticket is ~160 bytes
 * here (one APDU) against ~310 as JSON (two). Decoders take exactly that
 * form — no unknown, missing, repeated or reordered item, shortest lengths
 * only — so one value has one encoding; then the protocol's zod schemas
 * validate every decoded value. Encoders validate their input the same way.
 * Both throw only AppletCodecError.
 */
import type { z } from 'zod';
import { limits } from './limits.ts';

export const appletDataVersion = 1;

export const appletDataLimits = {
  /** A reassembled command: PUT replacing all 32 tokens is ≤ ~10.4 KiB worst case (3-byte UTF-8 key ids), ~5 KiB typical; 16 KiB = at most 65 chained APDUs. */
  commandDataBytesMax: 16 * 1024,
  /** A whole response before GET RESPONSE splits it: 16 worst-case tickets ≈ 8.1 KiB, 32 worst-case tokens ≈ 10.4 KiB. */
  responseDataBytesMax: 16 * 1024,
  /** Tickets one phone holds: a day's worth of journeys and events; the gate reads them all in one GET TICKET. */
  ticketsHeldMax: 16,
  /** E-money tokens one phone holds: small denominations make change offline. */
  emoneyTokensHeldMax: 32,
  /** Admission info: one open journey at a time (entry recorded, exit pending). */
  admissionsHeldMax: 1,
  /** Payment cards one phone holds (claim 36): a debit and a credit card, a company card, a spare; GET CARD picks one by index. */
  cardsHeldMax: 4,
} as const;

export type AppletCodecErrorCode = 'TS_ERR_APPLET_WRONG_LENGTH' | 'TS_ERR_APPLET_WRONG_DATA' | 'TS_ERR_APPLET_VERSION';

/** A malformed APDU or data field. `sw` is what an applet answers to it: 6700 for lengths, 6A80 for contents. */
export class AppletCodecError extends Error {
  override readonly name = 'AppletCodecError';
  readonly code: AppletCodecErrorCode;
  readonly sw: number;
  constructor(code: AppletCodecErrorCode, message: string) {
    super(message);
    this.code = code;
    this.sw = code === 'TS_ERR_APPLET_WRONG_LENGTH' ? 0x6700 : 0x6a80;
  }
}

const wrongData = (message: string): AppletCodecError => new AppletCodecError('TS_ERR_APPLET_WRONG_DATA', message);

type Field =
  | { tag: number; kind: 'uuid' }
  | { tag: number; kind: 'text'; charsMax: number }
  | { tag: number; kind: 'uint' | 'hex' | 'b64u'; bytes: number };
type FieldValue = string | number;
type Flat = Record<string, FieldValue | undefined>;

const uuid = (tag: number): Field => ({ tag, kind: 'uuid' });
const text = (tag: number, charsMax: number): Field => ({ tag, kind: 'text', charsMax });
const uint = (tag: number, bytes: number): Field => ({ tag, kind: 'uint', bytes });
/** Epoch ms ≤ 2^47 fit in 6 bytes. */
const epochBytes = 6;
const accountIdChars = 11;
const keyIdChars = 64;

/** Every field tag, one table for every instruction (docs/hardware.md lists it). */
export const appletTags = {
  walletId: uuid(0x01),
  counter: uint(0x02, 4),
  deviceId: text(0x03, limits.deviceIdLengthMax),
  merchant: text(0x04, accountIdChars),
  amountMinor: uint(0x05, 4),
  currency: text(0x06, 3),
  article: text(0x07, limits.articleIdLengthMax),
  quantity: uint(0x08, 1),
  deviceNonce: { tag: 0x09, kind: 'hex', bytes: limits.nonceBytes },
  cryptogram: { tag: 0x0a, kind: 'hex', bytes: limits.macBytes },
  appletVersion: uint(0x0b, 1),
  /** AUTHORIZE PURCHASE, PHONE SETTLES (claim 9): the requestId the phone must settle under, and the outcome deadline it must ask for. */
  requestId: uuid(0x0c),
  outcomeDeadlineSec: uint(0x0d, 2),
  ticketId: uuid(0x10),
  product: text(0x11, limits.articleIdLengthMax),
  validFrom: uint(0x12, epochBytes),
  validUntil: uint(0x13, epochBytes),
  uses: uint(0x14, 2),
  keyId: text(0x15, keyIdChars),
  sig: { tag: 0x16, kind: 'b64u', bytes: 64 },
  admissionId: uuid(0x17),
  station: text(0x18, limits.stationIdLengthMax),
  gate: text(0x19, limits.deviceIdLengthMax),
  enteredAt: uint(0x1a, epochBytes),
  serial: uuid(0x1b),
  holder: uuid(0x1c),
  issuedAt: uint(0x1d, epochBytes),
  float: text(0x1e, accountIdChars),
  /** GET CARD (claim 36): digits as text; the card schemas of card-data.ts check them. */
  pan: text(0x20, 19),
  expiry: text(0x21, 4),
  cvv: text(0x22, 4),
} as const satisfies Record<string, Field>;
type FieldName = keyof typeof appletTags;

/** Tags of the container items that hold one record each in a list. */
export const appletListTags = { ticket: 0x71, admission: 0x72, emoneyToken: 0x73 } as const;

/** UTF-8 takes at most 3 bytes per UTF-16 unit, the unit zod's max() counts. */
const utf8BytesPerChar = 3;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function encodeField(name: string, field: Field, value: FieldValue | undefined): Uint8Array {
  if (field.kind === 'uint') {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value >= 2 ** (8 * field.bytes)) throw wrongData(`${name}: not a ${field.bytes}-byte unsigned integer`);
    const out = new Uint8Array(field.bytes);
    for (let i = field.bytes - 1, rest = value; i >= 0; i -= 1, rest = Math.floor(rest / 256)) out[i] = rest % 256;
    return out;
  }
  if (typeof value !== 'string') throw wrongData(`${name}: not a string`);
  const bytes = field.kind === 'uuid' ? Buffer.from(value.replaceAll('-', ''), 'hex')
    : field.kind === 'text' ? Buffer.from(value, 'utf8')
      : Buffer.from(value, field.kind === 'hex' ? 'hex' : 'base64url');
  // Buffer.from is lenient (stops at bad hex, drops lone surrogates): only a value that decodes back to itself is sent.
  if (decodeField(name, field, bytes) !== value) throw wrongData(`${name}: not in its canonical form`);
  return bytes;
}

function decodeField(name: string, field: Field, bytes: Uint8Array): FieldValue {
  const n = bytes.byteLength;
  switch (field.kind) {
    case 'uint': {
      if (n !== field.bytes) throw wrongData(`${name}: ${n} bytes, expected ${field.bytes}`);
      return bytes.reduce((acc, b) => acc * 256 + b, 0);
    }
    case 'uuid': {
      if (n !== 16) throw wrongData(`${name}: ${n} bytes, expected 16`);
      const h = Buffer.from(bytes).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 'text': {
      if (n > field.charsMax * utf8BytesPerChar) throw wrongData(`${name}: ${n} bytes, limit ${field.charsMax * utf8BytesPerChar}`);
      try {
        return utf8.decode(bytes);
      } catch {
        throw wrongData(`${name}: not UTF-8`);
      }
    }
    case 'hex':
    case 'b64u': {
      if (n !== field.bytes) throw wrongData(`${name}: ${n} bytes, expected ${field.bytes}`);
      return Buffer.from(bytes).toString(field.kind === 'hex' ? 'hex' : 'base64url');
    }
  }
}

// ---- TLV -------------------------------------------------------------------

interface Item { tag: number; value: Uint8Array }

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  if (n <= 0xff) return [0x81, n];
  if (n <= 0xffff) return [0x82, n >> 8, n & 0xff];
  throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `item of ${n} bytes`);
}

const item = (tag: number, value: Uint8Array): Uint8Array => Buffer.concat([Uint8Array.of(tag, ...lengthBytes(value.byteLength)), value]);

function readItems(bytes: Uint8Array): Item[] {
  const items: Item[] = [];
  let pos = 0;
  const need = (count: number): void => {
    if (pos + count > bytes.byteLength) throw wrongData(`item truncated at byte ${pos}`);
  };
  while (pos < bytes.byteLength) {
    need(2);
    const tag = bytes[pos]!;
    const first = bytes[pos + 1]!;
    pos += 2;
    let length = first;
    if (first === 0x81 || first === 0x82) {
      const extra = first - 0x80;
      need(extra);
      length = extra === 1 ? bytes[pos]! : (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += extra;
      if (length < (extra === 1 ? 0x80 : 0x100)) throw wrongData('length not in its shortest form');
    } else if (first >= 0x80) {
      throw wrongData(`length byte 0x${first.toString(16)}`);
    }
    need(length);
    items.push({ tag, value: bytes.subarray(pos, pos + length) });
    pos += length;
  }
  return items;
}

function openData(data: Uint8Array, bytesMax: number): Item[] {
  if (data.byteLength === 0) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', 'no data: expected at least the version byte');
  if (data.byteLength > bytesMax) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `data of ${data.byteLength} bytes, limit ${bytesMax}`);
  if (data[0] !== appletDataVersion) throw new AppletCodecError('TS_ERR_APPLET_VERSION', `data version ${data[0]}, this code speaks ${appletDataVersion}`);
  return readItems(data.subarray(1));
}

function sealData(items: Uint8Array[], bytesMax: number): Uint8Array {
  const data = Buffer.concat([Uint8Array.of(appletDataVersion), ...items]);
  if (data.byteLength > bytesMax) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `data of ${data.byteLength} bytes, limit ${bytesMax}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

// ---- Records and lists -----------------------------------------------------

export interface RecordSpec<T> {
  fields: readonly FieldName[];
  schema: z.ZodType<T>;
  toFlat?: (value: T) => Flat;
  fromFlat?: (flat: Flat) => unknown;
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw wrongData(`${what}: ${issue ? `${issue.path.join('.') || '(value)'}: ${issue.message}` : 'invalid'}`);
}

function encodeRecord<T>(spec: RecordSpec<T>, value: T, what: string): Uint8Array[] {
  const valid = validate(spec.schema, value, what);
  const flat = spec.toFlat ? spec.toFlat(valid) : (valid as Flat);
  return spec.fields.map((name) => item(appletTags[name].tag, encodeField(name, appletTags[name], flat[name])));
}

function decodeRecord<T>(spec: RecordSpec<T>, items: readonly Item[], what: string): T {
  if (items.length !== spec.fields.length) throw wrongData(`${what}: ${items.length} items, expected ${spec.fields.length}`);
  const flat: Flat = {};
  spec.fields.forEach((name, i) => {
    const field = appletTags[name];
    const got = items[i]!;
    if (got.tag !== field.tag) throw wrongData(`${what}: tag 0x${got.tag.toString(16)} where ${name} (0x${field.tag.toString(16)}) belongs`);
    flat[name] = decodeField(name, field, got.value);
  });
  return validate(spec.schema, spec.fromFlat ? spec.fromFlat(flat) : flat, what);
}

/** Encoder and decoder of one data field. Both are pure and throw only AppletCodecError. */
export interface DataCodec<T> {
  encode(value: T): Uint8Array;
  decode(data: Uint8Array): T;
}

export function recordCodec<T>(what: string, spec: RecordSpec<T>, bytesMax: number): DataCodec<T> {
  return {
    encode: (value) => sealData(encodeRecord(spec, value, what), bytesMax),
    decode: (data) => decodeRecord(spec, openData(data, bytesMax), what),
  };
}

export function listCodec<T>(what: keyof typeof appletListTags, spec: RecordSpec<T>, countMax: number): DataCodec<T[]> {
  const tag = appletListTags[what];
  const bytesMax = Math.max(appletDataLimits.commandDataBytesMax, appletDataLimits.responseDataBytesMax);
  const checkCount = (count: number): void => {
    if (count > countMax) throw wrongData(`${count} ${what}s, limit ${countMax}`);
  };
  return {
    encode: (values) => {
      checkCount(values.length);
      return sealData(values.map((v) => item(tag, Buffer.concat(encodeRecord(spec, v, what)))), bytesMax);
    },
    decode: (data) => {
      const items = openData(data, bytesMax);
      checkCount(items.length);
      return items.map((container) => {
        if (container.tag !== tag) throw wrongData(`tag 0x${container.tag.toString(16)} in a list of ${what}s`);
        return decodeRecord(spec, readItems(container.value), what);
      });
    },
  };
}
