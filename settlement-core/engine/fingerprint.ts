import { createHash } from 'node:crypto';
import type { SettleRequest } from '../../protocol/index.ts';

/**
 * What makes two deliveries "the same request": the business content, not
 * the transport metadata (sentAt, seq) a resend may refresh. zod emits keys
 * in schema order, so JSON.stringify of a parsed request is deterministic.
 */
export function requestFingerprint(req: SettleRequest): string {
  const { sentAt: _sentAt, seq: _seq, ...content } = req;
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/** For a body that did not parse: its exact bytes. */
export function rawFingerprint(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}
