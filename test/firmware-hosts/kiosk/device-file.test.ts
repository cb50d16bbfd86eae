/** The kiosk's section of the device file: defaults, and every bad key named. */
import { describe, expect, it } from 'vitest';
import { kioskDefaults, kioskKind } from '../../../firmware-hosts/kiosk/kiosk.ts';
import { parseDeviceFile } from '../../../firmware-hosts/runtime/host-kind.ts';

const base = { device: { id: 'kiosk-1', kind: 'kiosk', secret: 'a'.repeat(43) }, gateway: { url: 'mqtt://127.0.0.1:1883' }, dataDir: '/var/lib/tapsettle/kiosk-1', parts: { nfc: { driver: 'sim' } } };
const parse = (extra: Record<string, unknown>) => parseDeviceFile(kioskKind, { ...base, ...extra }, 'kiosk-1.yaml');
const failure = (extra: Record<string, unknown>) => {
  try {
    parse(extra);
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the device file to be refused');
};

describe('kiosk device file', () => {
  it('takes the defaults when the kiosk section is absent, and values within bounds', () => {
    expect(parse({}).section).toEqual(kioskDefaults);
    expect(parse({ kiosk: { tapWaitMs: 5_000, settleTimeoutMs: 2_000 } }).section).toEqual({ ...kioskDefaults, tapWaitMs: 5_000, settleTimeoutMs: 2_000 });
  });

  it.each([
    [{ kiosk: { tapWaitMs: 5 } }, 'kiosk.tapWaitMs'],
    [{ kiosk: { tapPollMs: 1.5 } }, 'kiosk.tapPollMs'],
    [{ kiosk: { settleTimeoutMs: 999_999_999 } }, 'kiosk.settleTimeoutMs'],
    [{ kiosk: { outcomeDeadlineSec: 0 } }, 'kiosk.outcomeDeadlineSec'],
    [{ kiosk: { outcomeDeadlineSec: 10, settleTimeoutMs: 20_000 } }, 'kiosk.outcomeDeadlineSec: must be longer than settleTimeoutMs'],
    [{ kiosk: { exchangeTimeoutMs: 'fast' } }, 'kiosk.exchangeTimeoutMs'],
    [{ kiosk: { stopWaitMs: -1 } }, 'kiosk.stopWaitMs'],
    [{ kiosk: { colour: 'red' } }, 'kiosk: Unrecognized key: "colour"'],
    [{ vending: {} }, 'Unrecognized key: "vending"'],
  ])('refuses %j naming %s', (extra, named) => {
    const f = failure(extra);
    expect(f.code).toBe('TS_ERR_DEVICE_FILE');
    expect(f.message).toContain(named);
  });

  it('refuses a file for another kind', () => {
    expect(failure({ device: { ...base.device, kind: 'gate' } }).message).toContain('device.kind: the file is for a gate, not a kiosk');
  });
});
