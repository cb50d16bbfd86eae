/**
 * What arrives on a device's result topic, sorted before anything acts on it:
 * a SettleResult or an OutcomeAck for this device whose tag verifies under
 * the device key, or a coded rejection. A rejected message is dropped and
 * counted by the caller, never acted on: a rogue publisher cannot open a gate.
 */
import { decodeMessage, limits, verifyOutcomeAckTag, verifyResultTag } from '../../protocol/index.ts';
import type { OutcomeAck, SettleResult } from '../../protocol/index.ts';

export type AnswerRejection = 'malformed' | 'wrong-device' | 'bad-tag';
export type Answer =
  | { ok: true; kind: 'result'; value: SettleResult }
  | { ok: true; kind: 'outcome-ack'; value: OutcomeAck }
  | { ok: false; why: AnswerRejection; detail: string };

/** Reads only `type`, so the schema that decodes the body can be chosen; bounded before parsing. */
function peekType(payload: Buffer): string | null {
  if (payload.byteLength > limits.messageBytesMax) return null;
  try {
    const body: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof body !== 'object' || body === null) return null;
    const type = (body as { type?: unknown }).type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}

export function readAnswer(payload: Buffer, deviceId: string, deviceKey: Buffer): Answer {
  const type = peekType(payload);
  if (type !== 'result' && type !== 'outcome-ack') return { ok: false, why: 'malformed', detail: `type ${JSON.stringify(type)}` };
  if (type === 'result') {
    const decoded = decodeMessage('result', payload);
    if (!decoded.ok) return { ok: false, why: 'malformed', detail: `${decoded.reason}: ${decoded.message}` };
    if (decoded.value.deviceId !== deviceId) return { ok: false, why: 'wrong-device', detail: decoded.value.deviceId };
    if (!verifyResultTag(deviceKey, decoded.value)) return { ok: false, why: 'bad-tag', detail: decoded.value.requestId };
    return { ok: true, kind: 'result', value: decoded.value };
  }
  const decoded = decodeMessage('outcome-ack', payload);
  if (!decoded.ok) return { ok: false, why: 'malformed', detail: `${decoded.reason}: ${decoded.message}` };
  if (decoded.value.deviceId !== deviceId) return { ok: false, why: 'wrong-device', detail: decoded.value.deviceId };
  if (!verifyOutcomeAckTag(deviceKey, decoded.value)) return { ok: false, why: 'bad-tag', detail: decoded.value.requestId };
  return { ok: true, kind: 'outcome-ack', value: decoded.value };
}
