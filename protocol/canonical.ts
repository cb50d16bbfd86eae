/**
 * Canonical bytes: what is MACed or signed. A defined, positional field order
 * per domain, never whatever JSON.stringify happens to produce.
 *
 *   bytes  = field(domain) field(f1) field(f2) ...
 *   field  = 0x00                              absent (optional field not set)
 *          | 0x01 u32be(len) utf8(string)      string
 *          | 0x02 i64be(value)                 integer (a safe integer)
 *          | 0x03 u32be(len) raw               bytes
 *
 * The domain string (for example `tapsettle/v1/purchase`) separates uses of
 * the same key, so a cryptogram can never be replayed as a result tag.
 */
export type CanonicalField = string | number | Uint8Array | null | undefined;

const TAG_ABSENT = 0x00;
const TAG_STRING = 0x01;
const TAG_INT = 0x02;
const TAG_BYTES = 0x03;

function fieldLength(field: CanonicalField): number {
  if (field === null || field === undefined) return 1;
  if (typeof field === 'string') return 5 + Buffer.byteLength(field, 'utf8');
  if (typeof field === 'number') return 9;
  return 5 + field.byteLength;
}

export function canonicalBytes(domain: string, fields: readonly CanonicalField[]): Buffer {
  let size = fieldLength(domain);
  for (const field of fields) size += fieldLength(field);
  const out = Buffer.allocUnsafe(size);
  let offset = writeField(out, 0, domain);
  for (const field of fields) offset = writeField(out, offset, field);
  if (offset !== size) throw new Error(`canonicalBytes: wrote ${offset} of ${size} bytes`);
  return out;
}

function writeField(out: Buffer, offset: number, field: CanonicalField): number {
  if (field === null || field === undefined) {
    out[offset] = TAG_ABSENT;
    return offset + 1;
  }
  if (typeof field === 'string') {
    out[offset] = TAG_STRING;
    const len = out.write(field, offset + 5, 'utf8');
    out.writeUInt32BE(len, offset + 1);
    return offset + 5 + len;
  }
  if (typeof field === 'number') {
    if (!Number.isSafeInteger(field)) throw new RangeError(`canonicalBytes: ${field} is not a safe integer`);
    out[offset] = TAG_INT;
    out.writeBigInt64BE(BigInt(field), offset + 1);
    return offset + 9;
  }
  out[offset] = TAG_BYTES;
  out.writeUInt32BE(field.byteLength, offset + 1);
  out.set(field, offset + 5);
  return offset + 5 + field.byteLength;
}

/** Domains: one per kind of MACed or signed data. */
export const domains = {
  purchase: 'tapsettle/v1/purchase',
  result: 'tapsettle/v1/result',
  outcomeAck: 'tapsettle/v1/outcome-ack',
  walletRequest: 'tapsettle/v1/wallet-request',
  ticket: 'tapsettle/v1/ticket',
  admission: 'tapsettle/v1/admission',
  emoney: 'tapsettle/v1/emoney',
} as const;
