/** The `pos` section of the device file: defaults named, every bad key named in the error. */
import { describe, expect, it } from 'vitest';
import { posDefaults, posKind } from '../../../firmware-hosts/pos/index.ts';
import { parseDeviceFile } from '../../../firmware-hosts/runtime/host-kind.ts';

const base = (pos: unknown, parts: unknown = { nfc: { driver: 'sim' }, codeReader: { driver: 'sim' } }) => ({
  device: { id: 'pos-1', kind: 'pos', secret: 'A'.repeat(43) },
  gateway: { url: 'mqtt://127.0.0.1:1883' },
  dataDir: '/tmp/pos-data',
  parts,
  pos,
});

const errorOf = (raw: unknown): string => {
  try {
    parseDeviceFile(posKind, raw, 'pos.yaml');
  } catch (err) {
    expect((err as { code?: string }).code).toBe('TS_ERR_DEVICE_FILE');
    return (err as Error).message;
  }
  throw new Error('parsed');
};

describe('pos device file', () => {
  it('fills every default from posDefaults', () => {
    const file = parseDeviceFile(posKind, base({}), 'pos.yaml');
    expect(file.section).toEqual({ ...posDefaults, codes: { ...posDefaults.codes } });
  });

  it.each([
    [{ mode: 'teller' }, 'pos.mode'],
    [{ basketLinesMax: 1000 }, 'pos.basketLinesMax'],
    [{ saleMinorMax: 0 }, 'pos.saleMinorMax'],
    [{ saleMinorMax: 1.5 }, 'pos.saleMinorMax'],
    [{ settleTimeoutMs: 10 }, 'pos.settleTimeoutMs'],
    [{ outcomeDeadlineSec: 7200 }, 'pos.outcomeDeadlineSec'],
    [{ currency: 'euro' }, 'pos.currency'],
    [{ codes: { confirm: '+', cancel: '+' } }, 'pos.codes'],
    [{ codes: { enter: '#' } }, 'pos.codes'],
    [{ colour: 'red' }, 'pos'],
    [{ codeCharsMax: 500 }, 'pos.codeCharsMax'],
  ])('%j is refused naming %s', (pos, key) => {
    expect(errorOf(base(pos))).toContain(`pos.yaml: ${key}`);
  });

  it('a missing section or a wrong kind is named', () => {
    expect(errorOf({ ...base({}), pos: undefined })).toContain('pos');
    expect(errorOf({ ...base({}), device: { id: 'pos-1', kind: 'gate', secret: 'A'.repeat(43) } })).toContain('device.kind');
  });
});
