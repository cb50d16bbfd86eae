/**
 * Tagged answers to devices. Key order is fixed here, so the JSON the core
 * stores is the JSON it sends, and a redelivery gets exactly these bytes.
 */
import { limits, outcomeAckTag, resultTag } from '../../protocol/index.ts';
import type { EmoneyToken, Money, OutcomeAck, ReasonCode, SettleResult, Ticket } from '../../protocol/index.ts';

export interface ResultFields {
  deviceId: string;
  requestId: string;
  status: SettleResult['status'];
  reason?: ReasonCode | undefined;
  amount?: Money | undefined;
  deferredUntil?: number | undefined;
  /** Claims 15–16: the minted ticket; not covered by the tag (it carries its own Ed25519 signature). */
  ticket?: Ticket | undefined;
  /** Claim 34 at a device: the minted e-money token; not covered by the tag either (its own Ed25519 signature). */
  emoney?: EmoneyToken | undefined;
}

export function buildResult(deviceKey: Uint8Array, f: ResultFields, now: number): { result: SettleResult; json: string } {
  const unsigned = {
    v: limits.protocolVersion,
    type: 'result' as const,
    requestId: f.requestId,
    sentAt: now,
    deviceId: f.deviceId,
    status: f.status,
    ...(f.reason !== undefined ? { reason: f.reason } : {}),
    ...(f.amount !== undefined ? { amount: { minor: f.amount.minor, currency: f.amount.currency } } : {}),
    ...(f.deferredUntil !== undefined ? { deferredUntil: f.deferredUntil } : {}),
    ...(f.ticket !== undefined ? { ticket: f.ticket } : {}),
    ...(f.emoney !== undefined ? { emoney: f.emoney } : {}),
  };
  const result: SettleResult = { ...unsigned, tag: resultTag(deviceKey, unsigned) };
  return { result, json: JSON.stringify(result) };
}

export function buildOutcomeAck(
  deviceKey: Uint8Array,
  f: { deviceId: string; requestId: string; settleRequestId: string; status: OutcomeAck['status'] },
  now: number,
): { ack: OutcomeAck; json: string } {
  const unsigned = {
    v: limits.protocolVersion,
    type: 'outcome-ack' as const,
    requestId: f.requestId,
    sentAt: now,
    deviceId: f.deviceId,
    settleRequestId: f.settleRequestId,
    status: f.status,
  };
  const ack: OutcomeAck = { ...unsigned, tag: outcomeAckTag(deviceKey, unsigned) };
  return { ack, json: JSON.stringify(ack) };
}
