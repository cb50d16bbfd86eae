/**
 * The bodies a device publishes, built and checked against the protocol
 * schemas before they reach the outbox: a body that the core would refuse is
 * a bug in the host, caught here with a coded error instead of a decline.
 */
import { DeviceEvent, DeviceState, Outcome, SettleRequest, limits, uuidv7 } from '../../protocol/index.ts';
import type { DeviceKind, DeviceOutput } from '../../protocol/index.ts';
import { RuntimeError } from './errors.ts';

/** What a host supplies for a settle request; the link adds v, type, sentAt, deviceId and seq. */
export type SettleDraft = Omit<SettleRequest, 'v' | 'type' | 'seq' | 'sentAt' | 'deviceId'>;
/** What a host supplies for an outcome; requestId is generated when absent. */
export type OutcomeDraft = Omit<Outcome, 'v' | 'type' | 'seq' | 'sentAt' | 'deviceId' | 'requestId'> & { requestId?: string };
export type DeviceHealth = NonNullable<DeviceState['health']>;

function checked(schema: { safeParse(v: unknown): { success: boolean; error?: { message: string } } }, body: Record<string, unknown>): string {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new RuntimeError('TS_ERR_LINK_INVALID_MESSAGE', `${String(body.type)} body invalid: ${parsed.error?.message ?? ''}`);
  return JSON.stringify(body);
}

export function buildSettle(deviceId: string, draft: SettleDraft, seq: number, nowMs: number = Date.now()): string {
  return checked(SettleRequest, { v: limits.protocolVersion, type: 'settle', ...draft, sentAt: nowMs, seq, deviceId });
}

export function buildOutcome(deviceId: string, draft: OutcomeDraft, nowMs: number = Date.now()): { requestId: string; body: (seq: number) => string } {
  const requestId = draft.requestId ?? uuidv7(nowMs);
  return {
    requestId,
    body: (seq) => checked(Outcome, { v: limits.protocolVersion, type: 'outcome', ...draft, requestId, sentAt: nowMs, seq, deviceId }),
  };
}

/** What the host shows technicians on its retained state: the state machine's state and the parts' states. */
export interface Presentation {
  machineState?: string;
  outputs?: DeviceOutput[];
}

export function buildState(deviceId: string, seq: number | null, status: DeviceState['status'], kind: DeviceKind | undefined, health: DeviceHealth | null, presentation: Presentation = {}, nowMs: number = Date.now()): string {
  return checked(DeviceState, {
    v: limits.protocolVersion, type: 'state', requestId: uuidv7(nowMs), sentAt: nowMs, ...(seq !== null ? { seq } : {}), deviceId,
    ...(kind !== undefined ? { kind } : {}), status,
    ...(presentation.machineState !== undefined ? { machineState: presentation.machineState.slice(0, 64) } : {}),
    ...(health !== null ? { health } : {}),
    ...(presentation.outputs !== undefined && presentation.outputs.length > 0 ? { outputs: presentation.outputs.slice(0, limits.deviceOutputsMax) } : {}),
  });
}

export type EventKind = DeviceEvent['kind'];

export function buildEvent(deviceId: string, seq: number, kind: EventKind, detail: string | undefined, nowMs: number = Date.now()): string {
  return checked(DeviceEvent, {
    v: limits.protocolVersion, type: 'event', requestId: uuidv7(nowMs), sentAt: nowMs, seq, deviceId, kind,
    ...(detail !== undefined ? { detail: detail.slice(0, limits.detailLengthMax) } : {}),
  });
}
