/**
 * The device's side of the card channel (claim 36; protocol/card-messages.ts):
 * the bodies it publishes on `card`, checked against their schemas before
 * they reach the outbox, and what arrives on `card-result`, sorted before
 * anything acts on it — an answer for this device whose tag verifies under
 * the device key, or a coded rejection that is dropped and counted. A forged
 * card-result can neither show "approved" nor clear an entry.
 */
import {
  CardAuthorizationRequest, CardErrorNotice, CardReversalAck, CardReversalRequest, DeviceCardResult, limits, uuidv7,
  verifyCardErrorTag, verifyCardResultTag, verifyCardReversalAckTag,
} from '../../protocol/index.ts';
import type { AnswerRejection } from './answers.ts';
import { RuntimeError } from './errors.ts';

/** What a host supplies for a card authorization; the link adds v, type, sentAt, deviceId and seq. */
export type CardDraft = Omit<CardAuthorizationRequest, 'v' | 'type' | 'seq' | 'sentAt' | 'deviceId'>;
/** What a host supplies for a card reversal; its own requestId is generated when absent. */
export type CardReversalDraft = Omit<CardReversalRequest, 'v' | 'type' | 'seq' | 'sentAt' | 'deviceId' | 'requestId'> & { requestId?: string };

function checked(schema: { safeParse(v: unknown): { success: boolean } }, body: Record<string, unknown>): string {
  // The zod error would quote the card fields: only the type is named.
  if (!schema.safeParse(body).success) throw new RuntimeError('TS_ERR_LINK_INVALID_MESSAGE', `${String(body.type)} body does not match its schema`);
  return JSON.stringify(body);
}

export function buildCardAuthorization(deviceId: string, draft: CardDraft, seq: number, nowMs: number = Date.now()): string {
  return checked(CardAuthorizationRequest, { v: limits.protocolVersion, type: 'card-authorization', ...draft, sentAt: nowMs, seq, deviceId });
}

export function buildCardReversal(deviceId: string, draft: CardReversalDraft, nowMs: number = Date.now()): { requestId: string; body: (seq: number) => string } {
  const requestId = draft.requestId ?? uuidv7(nowMs);
  return { requestId, body: (seq) => checked(CardReversalRequest, { v: limits.protocolVersion, type: 'card-reversal', ...draft, requestId, sentAt: nowMs, seq, deviceId }) };
}

export type CardAnswer =
  | { kind: 'card-result'; value: DeviceCardResult }
  | { kind: 'card-reversal-ack'; value: CardReversalAck }
  | { kind: 'card-error'; value: CardErrorNotice };

export type ReadCardAnswer = ({ ok: true } & CardAnswer) | { ok: false; why: AnswerRejection; detail: string };

const schemas = { 'card-result': DeviceCardResult, 'card-reversal-ack': CardReversalAck, 'card-error': CardErrorNotice } as const;

function parse(payload: Buffer): { type: keyof typeof schemas; body: unknown } | null {
  if (payload.byteLength > limits.messageBytesMax) return null;
  try {
    const body: unknown = JSON.parse(payload.toString('utf8'));
    const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
    return type === 'card-result' || type === 'card-reversal-ack' || type === 'card-error' ? { type, body } : null;
  } catch {
    return null;
  }
}

/** One message from the `card-result` topic: a verified answer for this device, or why it is not acted on. */
export function readCardAnswer(payload: Buffer, deviceId: string, deviceKey: Buffer): ReadCardAnswer {
  const raw = parse(payload);
  if (raw === null) return { ok: false, why: 'malformed', detail: 'not a card-result, card-reversal-ack or card-error body' };
  const parsed = schemas[raw.type].safeParse(raw.body);
  if (!parsed.success) return { ok: false, why: 'malformed', detail: `${raw.type}: ${parsed.error.issues[0]?.path.join('.') ?? ''}` };
  const answer = { kind: raw.type, value: parsed.data } as CardAnswer;
  if (answer.value.deviceId !== deviceId) return { ok: false, why: 'wrong-device', detail: answer.value.deviceId };
  const verified = answer.kind === 'card-result' ? verifyCardResultTag(deviceKey, answer.value)
    : answer.kind === 'card-reversal-ack' ? verifyCardReversalAckTag(deviceKey, answer.value) : verifyCardErrorTag(deviceKey, answer.value);
  if (!verified) return { ok: false, why: 'bad-tag', detail: answer.value.requestId ?? '(no request id)' };
  if (answer.kind === 'card-result') {
    const r = answer.value;
    // The gateway never sends these; a tagged one is a bug there, and is not acted on here.
    if (r.approved !== (r.responseCode === '00') || (r.approvalCode !== null) !== r.approved) return { ok: false, why: 'malformed', detail: 'approved, approvalCode and responseCode disagree' };
  }
  return { ok: true, ...answer };
}
