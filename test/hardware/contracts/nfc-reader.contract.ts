/**
 * The rules every NfcReader keeps (hardware/nfc-reader.ts), run against one
 * implementation: the PN532 reader over a serial line to the virtual chip,
 * the in-memory SimNfcReader, and any reader added later. The field is the
 * simulated one (sim/pn532/field.ts) in every case; what differs is what sits
 * between the reader and the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NfcReader } from '../../../hardware/nfc-reader.ts';
import { WalletClient } from '../../../hardware/wallet-client.ts';
import { appletVersion } from '../../../protocol/applet.ts';
import { deriveWalletKey, verifyWalletCryptogram } from '../../../protocol/index.ts';
import type { Purchase } from '../../../protocol/index.ts';
import { SimulatedPhone } from '../../../sim/phone/phone.ts';
import type { RfField } from '../../../sim/pn532/field.ts';
import { echoApdu, IsoDepTestTarget, selectApdu } from '../../../sim/pn532/iso-dep-test-target.ts';
import { PlainTag } from '../../../sim/pn532/plain-tag.ts';
import { sleep } from './wait.ts';

export interface NfcReaderHarness {
  reader: NfcReader;
  /** The field the reader sees: the contract places and removes targets here. */
  field: RfField;
  cleanup: () => Promise<void>;
}

export type MakeReaderWithField = () => Promise<NfcReaderHarness>;

const aid = Uint8Array.of(0xf0, 0x54, 0x41, 0x50, 0x53, 0x45, 0x54);
const ok = Uint8Array.of(0x90, 0x00);
/**
 * What a timed wait may overrun by: a poll interval, a few serial frames and
 * a loaded CI machine's scheduler. A hang would overrun by seconds.
 */
const lateMsMax = 500;

/** The error's code, 'resolved' or 'null': the contract compares codes, never messages. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    const value = await promise;
    return value === null ? 'null' : 'resolved';
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : `uncoded ${String(error)}`;
  }
}

async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - started };
}

export function nfcReaderContract(name: string, makeReaderWithField: MakeReaderWithField): void {
  describe(`NfcReader contract: ${name}`, () => {
    let harness: NfcReaderHarness | null = null;
    const make = async (): Promise<NfcReaderHarness> => {
      harness = await makeReaderWithField();
      return harness;
    };
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    it('waitForTarget resolves null after its timeout when the field stays empty', async () => {
      const { reader } = await make();
      const { value, ms } = await timed(reader.waitForTarget({ timeoutMs: 120 }));
      expect(value).toBeNull();
      expect(ms).toBeGreaterThanOrEqual(115);
      expect(ms).toBeLessThan(120 + lateMsMax);
    });

    it('finds an ISO-DEP target in the field, and one tapped while it waits', async () => {
      const { reader, field } = await make();
      field.place(new IsoDepTestTarget({ aid }));
      const target = await reader.waitForTarget({ timeoutMs: 1000 });
      expect(target).toMatchObject({ isoDep: true, sak: 0x20, atqa: Uint8Array.of(0x00, 0x04), ats: Uint8Array.of(0x78, 0x80, 0x70, 0x02) });
      expect([4, 7, 10]).toContain(target?.uid.length);
      field.remove();
      setTimeout(() => field.place(new IsoDepTestTarget({ aid })), 60);
      const { value, ms } = await timed(reader.waitForTarget({ timeoutMs: 2000 }));
      expect(value).toMatchObject({ isoDep: true });
      expect(ms).toBeLessThan(60 + lateMsMax);
    });

    it('reports a plain tag as not ISO-DEP and refuses APDUs to it', async () => {
      const { reader, field } = await make();
      const uid = Uint8Array.of(0x04, 1, 2, 3, 4, 5, 6);
      field.place(new PlainTag({ uid }));
      const target = await reader.waitForTarget({ timeoutMs: 1000 });
      expect(target).toMatchObject({ isoDep: false, sak: 0x00, uid });
      expect(target?.ats).toBeUndefined();
      expect(await outcome(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NOT_ISO_DEP');
    });

    it('round-trips APDUs: status words come back as answers, not errors', async () => {
      const { reader, field } = await make();
      field.place(new IsoDepTestTarget({ aid }));
      await reader.waitForTarget({ timeoutMs: 1000 });
      await expect(reader.exchange(selectApdu(Uint8Array.of(0xa0, 0, 0, 0, 1)), { timeoutMs: 500 })).resolves.toEqual(Uint8Array.of(0x6a, 0x82));
      await expect(reader.exchange(selectApdu(aid), { timeoutMs: 500 })).resolves.toEqual(ok);
      const payload = Uint8Array.from({ length: 250 }, (_, i) => i);
      await expect(reader.exchange(echoApdu(payload), { timeoutMs: 500 })).resolves.toEqual(Uint8Array.of(...payload, ...ok));
    });

    it('carries the wallet applet dialogue: SELECT and a purchase authorization the core can verify', async () => {
      const { reader, field } = await make();
      const walletId = '01937a4e-0000-7000-8000-0000000000c1';
      const walletKey = deriveWalletKey(Buffer.alloc(32, 0x3c), walletId);
      field.place(await SimulatedPhone.open({ walletId, walletKey }));
      await expect(reader.waitForTarget({ timeoutMs: 1000 })).resolves.toMatchObject({ isoDep: true });
      const wallet = new WalletClient(reader);
      await expect(wallet.select()).resolves.toMatchObject({ appletVersion });
      const purchase: Purchase = { merchant: '001-0000042', amount: { minor: 120, currency: 'EUR' }, article: 'coffee', quantity: 1 };
      const request = { deviceId: 'vend-1', purchase, deviceNonce: '00112233445566778899aabbccddeeff' };
      const auth = await wallet.authorizePurchase(request);
      expect(verifyWalletCryptogram(walletKey, { ...request, walletId, counter: auth.counter }, auth.cryptogram)).toBe(true);
    });

    it('refuses an exchange with no activated target, and an APDU no single exchange carries', async () => {
      const { reader, field } = await make();
      expect(await outcome(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NO_TARGET');
      field.place(new IsoDepTestTarget({ aid }));
      await reader.waitForTarget({ timeoutMs: 1000 });
      // Over any short or extended APDU: no reader can carry it in one exchange.
      expect(await outcome(reader.exchange(new Uint8Array(70_000), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_APDU_TOO_LONG');
      await expect(reader.exchange(selectApdu(aid), { timeoutMs: 500 })).resolves.toEqual(ok);
    });

    it('refuses a timeout that is negative or not a number', async () => {
      const { reader } = await make();
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(reader.waitForTarget({ timeoutMs: bad })).rejects.toThrow(RangeError);
        await expect(reader.exchange(selectApdu(aid), { timeoutMs: bad })).rejects.toThrow(RangeError);
      }
    });

    it('a target removed mid-exchange gives TS_ERR_NFC_TARGET_LOST well within the timeout, then no target', async () => {
      const { reader, field } = await make();
      const phone = new IsoDepTestTarget({ aid, answerDelayMs: 1500 });
      field.place(phone);
      await reader.waitForTarget({ timeoutMs: 1000 });
      setTimeout(() => field.remove(phone), 50);
      const { value, ms } = await timed(outcome(reader.exchange(selectApdu(aid), { timeoutMs: 3000 })));
      expect(value).toBe('TS_ERR_NFC_TARGET_LOST');
      expect(ms).toBeLessThan(50 + lateMsMax); // the reader saw it go, neither the late answer nor the timeout
      expect(await outcome(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NO_TARGET');
    });

    it('a silent target gives TS_ERR_NFC_TIMEOUT at the timeout; the reader stays usable and finds it again', async () => {
      const { reader, field } = await make();
      const phone = new IsoDepTestTarget({ aid, answerDelayMs: Number.POSITIVE_INFINITY });
      field.place(phone);
      await reader.waitForTarget({ timeoutMs: 1000 });
      const { value, ms } = await timed(outcome(reader.exchange(selectApdu(aid), { timeoutMs: 150 })));
      expect(value).toBe('TS_ERR_NFC_TIMEOUT');
      expect(ms).toBeGreaterThanOrEqual(145);
      expect(ms).toBeLessThan(150 + lateMsMax);
      expect(await outcome(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NO_TARGET');
      phone.answerDelayMs = 0;
      await expect(reader.waitForTarget({ timeoutMs: 1000 })).resolves.toMatchObject({ isoDep: true });
      await expect(reader.exchange(selectApdu(aid), { timeoutMs: 500 })).resolves.toEqual(ok);
    });

    it('release halts the target: left in the field it is not found again; tapped again it is a fresh activation', async () => {
      const { reader, field } = await make();
      await reader.release(); // nothing activated: nothing to do
      const phone = new IsoDepTestTarget({ aid });
      field.place(phone);
      const first = await reader.waitForTarget({ timeoutMs: 1000 });
      await expect(reader.exchange(selectApdu(aid), { timeoutMs: 500 })).resolves.toEqual(ok);
      await reader.release();
      expect(await outcome(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NO_TARGET');
      await expect(reader.waitForTarget({ timeoutMs: 100 })).resolves.toBeNull(); // no second charge for a phone left lying there
      field.remove(phone);
      field.place(phone);
      const second = await reader.waitForTarget({ timeoutMs: 1000 });
      expect(second).toMatchObject({ isoDep: true });
      expect(second?.uid).not.toEqual(first?.uid);
      // A new session: the applet is not selected until it is SELECTed again.
      await expect(reader.exchange(echoApdu(Uint8Array.of(1)), { timeoutMs: 500 })).resolves.toEqual(Uint8Array.of(0x6a, 0x82));
    });

    it('a second waitForTarget releases the first target before it looks again', async () => {
      const { reader, field } = await make();
      field.place(new IsoDepTestTarget({ aid }));
      await expect(reader.waitForTarget({ timeoutMs: 1000 })).resolves.toMatchObject({ isoDep: true });
      await expect(reader.waitForTarget({ timeoutMs: 100 })).resolves.toBeNull();
      expect(await outcome(reader.exchange(selectApdu(aid), { timeoutMs: 200 }))).toBe('TS_ERR_NFC_NO_TARGET');
    });

    it('close refuses every later call with TS_ERR_NFC_CLOSED; closing twice is fine', async () => {
      const { reader, field } = await make();
      field.place(new IsoDepTestTarget({ aid }));
      await reader.waitForTarget({ timeoutMs: 1000 });
      await reader.close();
      await reader.close();
      expect(await outcome(reader.waitForTarget({ timeoutMs: 10 }))).toBe('TS_ERR_NFC_CLOSED');
      expect(await outcome(reader.exchange(selectApdu(aid), { timeoutMs: 10 }))).toBe('TS_ERR_NFC_CLOSED');
      expect(await outcome(reader.release())).toBe('TS_ERR_NFC_CLOSED');
    });

    it('close during a wait ends the wait promptly, with null or a coded error', async () => {
      const { reader } = await make();
      const waiting = timed(outcome(reader.waitForTarget({ timeoutMs: 5000 })));
      await sleep(30);
      await reader.close();
      const { value, ms } = await waiting;
      expect(value).toMatch(/^(null|TS_ERR_[A-Z0-9_]+)$/);
      expect(ms).toBeLessThan(30 + lateMsMax);
    });
  });
}
