/**
 * End to end on one machine: the real PN532 reader driver
 * (hardware/nfc/pn532-reader.ts) → binding-mock serial port → virtual PN532 →
 * targets in its field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isNfcError } from '../../../hardware/nfc-reader.ts';
import { Pn532Reader } from '../../../hardware/nfc/pn532-reader.ts';
import { echoApdu, IsoDepTestTarget, selectApdu } from '../../../sim/pn532/iso-dep-test-target.ts';
import { openMockSerialPort } from '../../../sim/pn532/mock-port.ts';
import { PlainTag } from '../../../sim/pn532/plain-tag.ts';
import { VirtualPn532 } from '../../../sim/pn532/virtual-pn532.ts';
import type { VirtualPn532Options } from '../../../sim/pn532/virtual-pn532.ts';

const aid = Uint8Array.of(0xf0, 0x54, 0x41, 0x50, 0x53, 0x45, 0x54);
const readers: Pn532Reader[] = [];

async function station(options: VirtualPn532Options = {}): Promise<{ chip: VirtualPn532; reader: Pn532Reader }> {
  const chip = new VirtualPn532(options); // asleep, as after power-on: the driver must wake it
  const port = await openMockSerialPort(chip);
  const reader = new Pn532Reader(port.stream, { ackTimeoutMs: 50 }, () => port.close());
  readers.push(reader);
  await expect(reader.open()).resolves.toEqual({ ic: 0x32, ver: 1, rev: 6, support: 7 });
  return { chip, reader };
}

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isNfcError(error) ? error.code : String(error);
  }
}

afterEach(async () => {
  for (const reader of readers.splice(0)) await reader.close();
});

describe('PN532 reader over a mock serial port, against the virtual PN532', () => {
  it('wakes the chip, finds an ISO-DEP target and round-trips APDUs', async () => {
    const { chip, reader } = await station();
    expect(chip.counters.wakeups).toBe(1);
    chip.field.place(new IsoDepTestTarget({ aid }));
    const target = await reader.waitForTarget({ timeoutMs: 1000 });
    expect(target).toMatchObject({ isoDep: true, sak: 0x20, atqa: Uint8Array.of(0x00, 0x04), ats: Uint8Array.of(0x78, 0x80, 0x70, 0x02) });
    expect(target?.uid[0]).toBe(0x08); // a random UID, as phones in HCE present
    await expect(reader.exchange(selectApdu(aid), { timeoutMs: 500 })).resolves.toEqual(Uint8Array.of(0x90, 0x00));
    const payload = Uint8Array.from({ length: 250 }, (_, i) => i);
    await expect(reader.exchange(echoApdu(payload), { timeoutMs: 500 })).resolves.toEqual(Uint8Array.of(...payload, 0x90, 0x00));
  });

  it('reports a plain tag (SAK 00) as not ISO-DEP and refuses APDUs to it', async () => {
    const { chip, reader } = await station();
    chip.field.place(new PlainTag({ uid: Uint8Array.of(0x04, 1, 2, 3, 4, 5, 6) }));
    const target = await reader.waitForTarget({ timeoutMs: 1000 });
    expect(target).toMatchObject({ isoDep: false, sak: 0x00, uid: Uint8Array.of(0x04, 1, 2, 3, 4, 5, 6) });
    expect(target?.ats).toBeUndefined();
    expect(await errorCode(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NOT_ISO_DEP');
  });

  it('a target that leaves mid-exchange gives TS_ERR_NFC_TARGET_LOST well within the timeout', async () => {
    const { chip, reader } = await station();
    const phone = new IsoDepTestTarget({ aid, answerDelayMs: 1500 });
    chip.field.place(phone);
    await reader.waitForTarget({ timeoutMs: 1000 });
    const started = performance.now();
    const exchange = errorCode(reader.exchange(selectApdu(aid), { timeoutMs: 3000 }));
    setTimeout(() => chip.field.remove(phone), 50);
    expect(await exchange).toBe('TS_ERR_NFC_TARGET_LOST');
    // Reported by the chip as soon as the phone left, not by the phone's late answer nor by our timeout.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await errorCode(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NO_TARGET');
  });

  it('a target that stops answering gives TS_ERR_NFC_TIMEOUT within the timeout, never a hang; the chip is aborted', async () => {
    const { chip, reader } = await station();
    chip.field.place(new IsoDepTestTarget({ aid, answerDelayMs: Number.POSITIVE_INFINITY }));
    await reader.waitForTarget({ timeoutMs: 1000 });
    const started = performance.now();
    expect(await errorCode(reader.exchange(selectApdu(aid), { timeoutMs: 150 }))).toBe('TS_ERR_NFC_TIMEOUT');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(150 + 500); // margin for a loaded CI machine; a hang would be seconds
    expect(chip.counters.aborts).toBe(1);
    // The reader is still usable: the chip answers the next command.
    await expect(reader.commands.getFirmwareVersion()).resolves.toMatchObject({ ic: 0x32 });
  });

  it('waitForTarget times out to null with an empty field, and finds a phone tapped while it waits', async () => {
    const { chip, reader } = await station();
    let started = performance.now();
    await expect(reader.waitForTarget({ timeoutMs: 120 })).resolves.toBeNull();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(115);
    expect(elapsed).toBeLessThan(120 + 500);
    started = performance.now();
    setTimeout(() => chip.field.place(new IsoDepTestTarget({ aid })), 60);
    await expect(reader.waitForTarget({ timeoutMs: 2000 })).resolves.toMatchObject({ isoDep: true });
    expect(performance.now() - started).toBeLessThan(60 + 500);
  });

  it('release halts the phone: left on the reader it is not found again; the next tap is a fresh activation', async () => {
    const { chip, reader } = await station();
    const phone = new IsoDepTestTarget({ aid });
    chip.field.place(phone);
    const first = await reader.waitForTarget({ timeoutMs: 1000 });
    await reader.release();
    expect(chip.state.active.size).toBe(0);
    expect(await errorCode(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NO_TARGET');
    await expect(reader.waitForTarget({ timeoutMs: 100 })).resolves.toBeNull(); // no second charge for a phone left lying there
    chip.field.remove(phone);
    chip.field.place(phone);
    const second = await reader.waitForTarget({ timeoutMs: 1000 });
    expect(second).toMatchObject({ isoDep: true });
    expect(second?.uid).not.toEqual(first?.uid);
  });

  it('works with the timing model on (a station), within realistic latencies', async () => {
    const { realisticTiming } = await import('../../../sim/pn532/timing.ts');
    const { chip, reader } = await station({ timing: realisticTiming(115200) });
    chip.field.place(new IsoDepTestTarget({ aid }));
    await reader.waitForTarget({ timeoutMs: 1000 });
    const started = performance.now();
    await expect(reader.exchange(selectApdu(aid), { timeoutMs: 500 })).resolves.toEqual(Uint8Array.of(0x90, 0x00));
    expect(performance.now() - started).toBeGreaterThanOrEqual(2); // ~40 UART bytes + RF bytes
  });

  it('refuses calls after close with TS_ERR_NFC_CLOSED', async () => {
    const { reader } = await station();
    await reader.close();
    expect(await errorCode(reader.waitForTarget({ timeoutMs: 10 }))).toBe('TS_ERR_NFC_CLOSED');
    expect(await errorCode(reader.exchange(Uint8Array.of(0), { timeoutMs: 10 }))).toBe('TS_ERR_NFC_CLOSED');
  });
});
