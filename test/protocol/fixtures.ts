/**
 * Valid messages of every type, built with fixed keys, for the protocol tests.
 * Each builder returns a fresh object, so a test may mutate what it gets.
 */
import fc from 'fast-check';
import {
  deriveDeviceKey,
  deriveWalletKey,
  outcomeAckTag,
  resultTag,
  walletCryptogram,
} from '../../protocol/index.ts';
import type {
  DeviceConfig,
  DeviceEvent,
  DeviceState,
  Outcome,
  OutcomeAck,
  SettleRequest,
  SettleResult,
} from '../../protocol/index.ts';

/** The keys of the worked example in docs/protocol.md: 32 bytes of 0x11 and of 0x22. */
export const issuerMasterKey = Buffer.alloc(32, 0x11);
export const deviceMasterKey = Buffer.alloc(32, 0x22);

export const deviceId = 'vm-0042';
export const walletId = '01937a4e-0000-7000-8000-000000000001';
export const requestId = '01937a4e-8f00-7abc-8def-0123456789ab';
export const otherRequestId = '01937a4e-8f10-7abc-9def-0123456789ab';
export const sentAt = 1_732_430_000_000;

export const walletKey = deriveWalletKey(issuerMasterKey, walletId);
export const deviceKey = deriveDeviceKey(deviceMasterKey, deviceId);

export function settleRequest(): SettleRequest {
  const purchase = { merchant: '001-0000042', amount: { minor: 250, currency: 'EUR' }, article: 'cola-330', quantity: 1 };
  const deviceNonce = '00112233445566778899aabbccddeeff';
  const counter = 17;
  const cryptogram = walletCryptogram(walletKey, { walletId, deviceId, purchase, deviceNonce, counter });
  return {
    v: 1,
    type: 'settle',
    requestId,
    sentAt,
    seq: 5,
    deviceId,
    purchase,
    wallet: { walletId, counter, deviceNonce, cryptogram },
    restrictions: { coolingOffSec: 600, eligibility: { minAgeYears: 18, membershipsAny: ['students'] } },
    outcomeDeadlineSec: 30,
  };
}

export function settleResult(): SettleResult {
  const fields = { deviceId, requestId, status: 'approved' as const, amount: { minor: 250, currency: 'EUR' } };
  return { v: 1, type: 'result', sentAt: sentAt + 40, ...fields, tag: resultTag(deviceKey, fields) };
}

export function outcome(): Outcome {
  return { v: 1, type: 'outcome', requestId: otherRequestId, sentAt: sentAt + 2000, seq: 6, deviceId, settleRequestId: requestId, outcome: 'dispensed', detail: 'slot 3' };
}

export function outcomeAck(): OutcomeAck {
  const fields = { deviceId, requestId: otherRequestId, settleRequestId: requestId, status: 'applied' as const };
  return { v: 1, type: 'outcome-ack', sentAt: sentAt + 2050, ...fields, tag: outcomeAckTag(deviceKey, fields) };
}

export function deviceState(): DeviceState {
  return {
    v: 1,
    type: 'state',
    requestId: '01937a4e-9000-7000-8000-000000000003',
    sentAt,
    deviceId,
    kind: 'vending',
    status: 'online',
    machineState: 'idle',
    health: { uptimeSec: 3600, outboxDepth: 0, outboxMax: 1000, configVersion: 3, firmware: '1.4.2', faults: [] },
  };
}

export function deviceConfig(): DeviceConfig {
  return {
    v: 1,
    type: 'config',
    requestId: '01937a4e-9000-7000-8000-000000000004',
    sentAt,
    deviceId,
    version: 3,
    merchant: '001-0000042',
    catalog: [{ slot: 'A3', article: 'cola-330', name: 'Cola 0.33 l', price: { minor: 250, currency: 'EUR' } }],
    fareTable: { currency: 'EUR', maxFareMinor: 480, fares: [{ from: 'central', to: 'harbour', fareMinor: 240 }] },
    denyList: ['01937a4e-0000-7000-8000-0000000000ff'],
    keys: { issuer: [{ keyId: 'issuer-1', publicKey: 'A'.repeat(43) }], gates: [] },
  };
}

export function deviceEvent(): DeviceEvent {
  return { v: 1, type: 'event', requestId: '01937a4e-9000-7000-8000-000000000005', sentAt, seq: 7, deviceId, kind: 'door', detail: 'service door opened' };
}

/** One valid body per message type, keyed like messageSchemas. */
export const validMessages = {
  settle: settleRequest,
  result: settleResult,
  outcome,
  'outcome-ack': outcomeAck,
  state: deviceState,
  config: deviceConfig,
  event: deviceEvent,
} as const;

/**
 * Any UTF-16 string: ASCII (mostly), control characters, the BMP including lone
 * surrogates, and astral code points. fast-check's own 'binary' unit does the
 * same but costs most of a second to warm up in every test file.
 */
export const anyString = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({
    maxLength,
    unit: fc.oneof(
      { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 4 },
      { arbitrary: fc.integer({ min: 0x00, max: 0x1f }), weight: 1 },
      { arbitrary: fc.integer({ min: 0x80, max: 0xffff }), weight: 2 },
      { arbitrary: fc.integer({ min: 0x1_0000, max: 0x10_ffff }), weight: 1 },
    ).map((codePoint) => String.fromCodePoint(codePoint)),
  });
