/**
 * Array parameters in PostgreSQL's binary format (what array_recv reads).
 *
 * pg sends a Buffer parameter as binary and everything else as text. As text,
 * an array of 1,000 journal rows' JSON has every quote and backslash escaped
 * by the client and unescaped by the server: measured, that escaping cost
 * ~50 ms of a ~100 ms INSERT of 1,000 rows. In binary each element is a
 * length and its bytes, so the multi-row statements pay no escaping at all
 * and their text stays fixed (prepared once per connection).
 *
 * Layout: int32 ndim (1), int32 has-nulls flag, uint32 element type OID,
 * int32 length, int32 lower bound (1); then each element as an int32 byte
 * count (-1 for NULL) followed by its bytes (int8: 8 bytes big-endian; bool:
 * 1 byte; text: UTF-8).
 */
import { invariant } from '../../errors.ts';

export type ArrayType = 'text' | 'bigint' | 'boolean';

const elementOid: Readonly<Record<ArrayType, number>> = { text: 25, bigint: 20, boolean: 16 };
const headerBytes = 20;

function header(buf: Buffer, type: ArrayType, length: number, hasNulls: boolean): void {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNulls ? 1 : 0, 4);
  buf.writeUInt32BE(elementOid[type], 8);
  buf.writeInt32BE(length, 12);
  buf.writeInt32BE(1, 16);
}

function textArray(values: readonly unknown[]): Buffer {
  let size = headerBytes;
  let hasNulls = false;
  for (const v of values) {
    if (v === null) hasNulls = true;
    else {
      invariant(typeof v === 'string', () => `text array element of type ${typeof v}`);
      size += Buffer.byteLength(v, 'utf8');
    }
    size += 4;
  }
  const buf = Buffer.allocUnsafe(size);
  header(buf, 'text', values.length, hasNulls);
  let at = headerBytes;
  for (const v of values) {
    if (v === null) {
      at = buf.writeInt32BE(-1, at);
      continue;
    }
    const n = buf.write(v as string, at + 4, 'utf8');
    buf.writeInt32BE(n, at);
    at += 4 + n;
  }
  return buf;
}

function fixedArray(type: 'bigint' | 'boolean', values: readonly unknown[]): Buffer {
  const width = type === 'bigint' ? 8 : 1;
  const nulls = values.filter((v) => v === null).length;
  const buf = Buffer.allocUnsafe(headerBytes + values.length * 4 + (values.length - nulls) * width);
  header(buf, type, values.length, nulls > 0);
  let at = headerBytes;
  for (const v of values) {
    if (v === null) {
      at = buf.writeInt32BE(-1, at);
    } else if (type === 'bigint') {
      invariant(typeof v === 'number' && Number.isSafeInteger(v), () => `bigint array element ${typeof v === 'number' ? v : typeof v} is not a safe integer`);
      at = buf.writeInt32BE(8, at);
      at = buf.writeBigInt64BE(BigInt(v), at);
    } else {
      invariant(typeof v === 'boolean', () => `boolean array element of type ${typeof v}`);
      at = buf.writeInt32BE(1, at);
      at = buf.writeUInt8(v ? 1 : 0, at);
    }
  }
  return buf;
}

/** One binary array parameter of `type` holding `values` (null for NULL). */
export function pgArray(type: ArrayType, values: readonly unknown[]): Buffer {
  return type === 'text' ? textArray(values) : fixedArray(type, values);
}
