/**
 * The PN532 reader driver with the REAL serialport binding, on a real
 * pseudo-terminal served by the virtual PN532. Skipped, with the reason
 * printed, only where no pty can be made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isNfcError } from '../../../hardware/nfc-reader.ts';
import { openPn532ReaderOnSerial } from '../../../hardware/nfc/open-serial.ts';
import type { Pn532Reader } from '../../../hardware/nfc/pn532-reader.ts';
import { IsoDepTestTarget, selectApdu } from '../../../sim/pn532/iso-dep-test-target.ts';
import { PlainTag } from '../../../sim/pn532/plain-tag.ts';
import { startVirtualPn532Pty } from '../../../sim/pn532/pty.ts';
import { startVirtualPn532 } from '../../../sim/pn532/start.ts';
import type { VirtualPn532Pty } from '../../../sim/pn532/pty.ts';
import { VirtualPn532 } from '../../../sim/pn532/virtual-pn532.ts';

const aid = Uint8Array.of(0xf0, 0x54, 0x41, 0x50, 0x53, 0x45, 0x54);

/** Why a pty served by `prefer` cannot be had here, or null when it can. */
async function unavailable(prefer: 'socat' | 'python3'): Promise<string | null> {
  try {
    const pty = await startVirtualPn532Pty(new VirtualPn532(), { prefer });
    await pty.close();
    return pty.via === prefer ? null : `${prefer} is not usable here, the fallback ${pty.via} was used instead`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const why = { socat: await unavailable('socat'), python3: await unavailable('python3') };
for (const [via, reason] of Object.entries(why)) {
  if (reason !== null) console.warn(`pty test via ${via} skipped: ${reason}`);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function station(prefer: 'socat' | 'python3'): Promise<{ chip: VirtualPn532; pty: VirtualPn532Pty; reader: Pn532Reader }> {
  const chip = new VirtualPn532();
  const pty = await startVirtualPn532Pty(chip, { prefer });
  cleanups.push(() => pty.close());
  const reader = await openPn532ReaderOnSerial(pty.hostPath, { ackTimeoutMs: 200 });
  cleanups.push(() => reader.close());
  return { chip, pty, reader };
}

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isNfcError(error) ? error.code : String(error);
  }
}

describe.each(['socat', 'python3'] as const)('PN532 reader on a real pty (%s) with the real serialport binding', (prefer) => {
  it.skipIf(why[prefer] !== null)('opens the chip, finds targets, exchanges APDUs, loses a target cleanly', async () => {
    const { chip, pty, reader } = await station(prefer);
    expect(pty.via).toBe(prefer);
    expect(chip.counters.wakeups).toBe(1);
    await expect(reader.waitForTarget({ timeoutMs: 100 })).resolves.toBeNull();
    chip.field.place(new PlainTag());
    await expect(reader.waitForTarget({ timeoutMs: 1000 })).resolves.toMatchObject({ isoDep: false });
    chip.field.remove();
    const phone = new IsoDepTestTarget({ aid, answerDelayMs: 0 });
    chip.field.place(phone);
    await expect(reader.waitForTarget({ timeoutMs: 1000 })).resolves.toMatchObject({ isoDep: true });
    await expect(reader.exchange(selectApdu(aid), { timeoutMs: 1000 })).resolves.toEqual(Uint8Array.of(0x90, 0x00));
    phone.answerDelayMs = 500;
    const lost = errorCode(reader.exchange(selectApdu(aid), { timeoutMs: 2000 }));
    setTimeout(() => chip.field.remove(phone), 50);
    expect(await lost).toBe('TS_ERR_NFC_TARGET_LOST');
  });
});

describe('startVirtualPn532: the station entry point', () => {
  it.skipIf(why.socat !== null && why.python3 !== null)('serves a chip with realistic timing on a pty, and a reader finds a phone through it', async () => {
    const running = await startVirtualPn532();
    cleanups.push(() => running.close());
    const reader = await openPn532ReaderOnSerial(running.hostPath, { ackTimeoutMs: 200 });
    cleanups.push(() => reader.close());
    running.field.place(new IsoDepTestTarget({ aid }));
    await expect(reader.waitForTarget({ timeoutMs: 1000 })).resolves.toMatchObject({ isoDep: true });
    const started = performance.now();
    await expect(reader.exchange(selectApdu(aid), { timeoutMs: 1000 })).resolves.toEqual(Uint8Array.of(0x90, 0x00));
    expect(performance.now() - started).toBeGreaterThanOrEqual(2); // the timing model is on
  });
});
