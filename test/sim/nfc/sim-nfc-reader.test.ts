/** SimNfcReader: the NfcReader contract, and what is its own (counters, call bound, a field shared with a chip). */
import { describe, expect, it } from 'vitest';
import { SimNfcReader, simCallsWaitingMax } from '../../../sim/nfc/sim-nfc-reader.ts';
import { IsoDepTestTarget, selectApdu } from '../../../sim/pn532/iso-dep-test-target.ts';
import { nfcReaderContract } from '../../hardware/contracts/nfc-reader.contract.ts';

const aid = Uint8Array.of(0xf0, 0x54, 0x41, 0x50, 0x53, 0x45, 0x54);

nfcReaderContract('SimNfcReader (in memory, on an RfField)', () => {
  const reader = new SimNfcReader();
  return Promise.resolve({ reader, field: reader.field, cleanup: () => reader.close() });
});

describe('SimNfcReader', () => {
  it('counts activations, exchanges, timeouts and lost targets', async () => {
    const reader = new SimNfcReader();
    const phone = new IsoDepTestTarget({ aid });
    reader.field.place(phone);
    await reader.waitForTarget({ timeoutMs: 100 });
    await reader.exchange(selectApdu(aid), { timeoutMs: 100 });
    phone.answerDelayMs = Number.POSITIVE_INFINITY;
    await expect(reader.exchange(selectApdu(aid), { timeoutMs: 20 })).rejects.toMatchObject({ code: 'TS_ERR_NFC_TIMEOUT' });
    await reader.waitForTarget({ timeoutMs: 100 });
    setTimeout(() => reader.field.remove(phone), 10);
    await expect(reader.exchange(selectApdu(aid), { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'TS_ERR_NFC_TARGET_LOST' });
    expect(reader.counters).toEqual({ activations: 2, exchanges: 3, timeouts: 1, targetsLost: 1 });
    await reader.close();
  });

  it('runs calls one at a time, in order, and refuses a runaway caller past the bound', async () => {
    const reader = new SimNfcReader();
    reader.field.place(new IsoDepTestTarget({ aid, answerDelayMs: 5 }));
    await reader.waitForTarget({ timeoutMs: 100 });
    const order: number[] = [];
    const calls = Array.from({ length: simCallsWaitingMax }, (_, i) => reader.exchange(selectApdu(aid), { timeoutMs: 1000 }).then(() => order.push(i)));
    await expect(reader.exchange(selectApdu(aid), { timeoutMs: 1000 })).rejects.toThrow(RangeError);
    await Promise.all(calls);
    expect(order).toEqual(Array.from({ length: simCallsWaitingMax }, (_, i) => i));
    await reader.close();
  });

  it('close during an exchange rejects it with TS_ERR_NFC_CLOSED at once', async () => {
    const reader = new SimNfcReader();
    reader.field.place(new IsoDepTestTarget({ aid, answerDelayMs: Number.POSITIVE_INFINITY }));
    await reader.waitForTarget({ timeoutMs: 100 });
    const exchange = reader.exchange(selectApdu(aid), { timeoutMs: 5000 });
    setTimeout(() => void reader.close(), 10);
    const started = performance.now();
    await expect(exchange).rejects.toMatchObject({ code: 'TS_ERR_NFC_CLOSED' });
    expect(performance.now() - started).toBeLessThan(500);
  });
});
