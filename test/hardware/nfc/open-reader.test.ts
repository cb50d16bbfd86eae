import { describe, expect, it } from 'vitest';
import { openNfcReader } from '../../../hardware/nfc/open-reader.ts';
import type { NfcReaderConfig } from '../../../hardware/nfc/open-reader.ts';
import { SimNfcReader } from '../../../sim/nfc/sim-nfc-reader.ts';
import { IsoDepTestTarget } from '../../../sim/pn532/iso-dep-test-target.ts';
import { openMockSerialPort } from '../../../sim/pn532/mock-port.ts';
import { VirtualPn532 } from '../../../sim/pn532/virtual-pn532.ts';

describe('openNfcReader: the driver chosen by a config string', () => {
  it('pn532-stream runs the real PN532 driver on a stream the caller opened (here, to the virtual chip)', async () => {
    const chip = new VirtualPn532();
    const port = await openMockSerialPort(chip);
    const reader = await openNfcReader({ driver: 'pn532-stream', stream: port.stream, close: () => port.close() });
    try {
      chip.field.place(new IsoDepTestTarget({ aid: Uint8Array.from([0xf0, 1, 2, 3, 4, 5]) }));
      const target = await reader.waitForTarget({ timeoutMs: 1000 });
      expect(target?.isoDep).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('instance hands back a reader built elsewhere', async () => {
    const sim = new SimNfcReader();
    expect(await openNfcReader({ driver: 'instance', reader: sim })).toBe(sim);
    await sim.close();
  });

  it('pn532-uart on a path that does not exist fails with a coded error', async () => {
    await expect(openNfcReader({ driver: 'pn532-uart', path: '/dev/tapsettle-no-such-port' })).rejects.toMatchObject({ code: 'TS_ERR_SERIAL_UNAVAILABLE' });
  });

  it('an unknown driver name is a coded error naming the choices', async () => {
    await expect(openNfcReader({ driver: 'acr122' } as unknown as NfcReaderConfig)).rejects.toMatchObject({ code: 'TS_ERR_NFC_DRIVER_UNKNOWN', message: expect.stringContaining('pn532-uart') as string });
  });
});
