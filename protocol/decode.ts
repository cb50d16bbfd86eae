/**
 * Bytes from the network → a typed message, or a coded refusal. Never throws.
 * The refusal says whether the requestId could still be read, so the caller
 * can answer a coded `declined` (keyed, idempotent) instead of dropping it.
 */
import type { z } from 'zod';
import { uuidV7Pattern } from './ids.ts';
import { limits } from './limits.ts';
import { messageSchemas } from './messages.ts';
import type { MessageType } from './messages.ts';
import type { ReasonCode } from './reasons.ts';

export type Decoded<T> =
  | { ok: true; value: T }
  | { ok: false; reason: ReasonCode; message: string; requestId: string | null };

const idPaths = new Set(['requestId', 'settleRequestId', 'walletId', 'deviceId', 'merchant']);

/** Maps a zod failure to the most specific stable reason code. */
export function reasonForIssues(issues: readonly z.core.$ZodIssue[]): ReasonCode {
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') return 'unknown-field';
  }
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (path[0] === 'v') return 'unsupported-version';
    if (path.includes('amount') || path.at(-1) === 'minor') return 'invalid-amount';
    const last = path.at(-1);
    if (last !== undefined && idPaths.has(last)) return 'malformed-id';
  }
  return 'invalid-request';
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

function readRequestId(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const id = (body as { requestId?: unknown }).requestId;
  return typeof id === 'string' && uuidV7Pattern.test(id) ? id : null;
}

export function decodeMessage<K extends MessageType>(
  type: K,
  payload: Uint8Array | string,
  bytesMax: number = type === 'config' ? limits.configBytesMax : limits.messageBytesMax,
): Decoded<z.infer<(typeof messageSchemas)[K]>> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > bytesMax) return { ok: false, reason: 'payload-too-large', message: `body is ${size} bytes, limit ${bytesMax}`, requestId: null };
  let body: unknown;
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'malformed-json', message: (err as Error).message, requestId: null };
  }
  return parseMessage(type, body);
}

export function parseMessage<K extends MessageType>(type: K, body: unknown): Decoded<z.infer<(typeof messageSchemas)[K]>> {
  const requestId = readRequestId(body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, reason: 'malformed-json', message: 'body is not a JSON object', requestId };
  }
  const parsed = messageSchemas[type].safeParse(body);
  if (!parsed.success) {
    return { ok: false, reason: reasonForIssues(parsed.error.issues), message: describeIssues(parsed.error.issues), requestId };
  }
  return { ok: true, value: parsed.data as z.infer<(typeof messageSchemas)[K]> };
}
