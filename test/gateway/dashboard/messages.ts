/** Protocol messages as devices and the core send them, for feeding the dashboard in tests. */
import { uuidv7 } from '../../../protocol/index.ts';
import type { DeviceEvent, DeviceOutput, DeviceState, Outcome, OutcomeAck, SettleResult } from '../../../protocol/index.ts';

const tag = 'ab'.repeat(32);

export const stateMsg = (deviceId: string, o: { status?: DeviceState['status']; machineState?: string; outputs?: DeviceOutput[]; sentAt?: number } = {}): DeviceState => ({
  v: 1, type: 'state', requestId: uuidv7(), sentAt: o.sentAt ?? Date.now(), deviceId, kind: 'gate', status: o.status ?? 'online',
  ...(o.machineState !== undefined ? { machineState: o.machineState } : {}), ...(o.outputs ? { outputs: o.outputs } : {}),
});

export const eventMsg = (deviceId: string, kind: DeviceEvent['kind'], detail?: string): DeviceEvent =>
  ({ v: 1, type: 'event', requestId: uuidv7(), sentAt: Date.now(), deviceId, kind, ...(detail !== undefined ? { detail } : {}) });

export const resultMsg = (deviceId: string, o: { requestId?: string; status?: 'approved' | 'declined'; minor?: number } = {}): SettleResult => ({
  v: 1, type: 'result', requestId: o.requestId ?? uuidv7(), sentAt: Date.now(), deviceId, status: o.status ?? 'approved',
  ...(o.status === 'declined' ? { reason: 'insufficient-funds' } : {}), amount: { minor: o.minor ?? 250, currency: 'EUR' }, tag,
});

export const outcomeMsg = (deviceId: string, settleRequestId: string, outcome: Outcome['outcome']): Outcome =>
  ({ v: 1, type: 'outcome', requestId: uuidv7(), sentAt: Date.now(), deviceId, settleRequestId, outcome });

export const ackMsg = (deviceId: string, settleRequestId: string): OutcomeAck =>
  ({ v: 1, type: 'outcome-ack', requestId: uuidv7(), sentAt: Date.now(), deviceId, settleRequestId, status: 'applied', tag });
