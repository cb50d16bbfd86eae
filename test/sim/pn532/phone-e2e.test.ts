/**
 * The whole NFC path of a device host, on one machine: WalletClient →
 * PN532 reader driver → binding-mock serial port → virtual PN532 → simulated
 * phone (sim/phone) in its field. The cryptogram the phone makes is checked
 * the way the settlement core checks it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isNfcError } from '../../../hardware/nfc-reader.ts';
import { Pn532Reader } from '../../../hardware/nfc/pn532-reader.ts';
import { WalletClient } from '../../../hardware/wallet-client.ts';
import { appletVersion } from '../../../protocol/applet.ts';
import { deriveWalletKey, generateSigningKeyPair, signEd25519, ticketBytes, verifyWalletCryptogram } from '../../../protocol/index.ts';
import type { Purchase, Ticket } from '../../../protocol/index.ts';
import { SimulatedPhone } from '../../../sim/phone/phone.ts';
import { openMockSerialPort } from '../../../sim/pn532/mock-port.ts';
import { realisticTiming, timingOff } from '../../../sim/pn532/timing.ts';
import { VirtualPn532 } from '../../../sim/pn532/virtual-pn532.ts';

const issuerMasterKey = Buffer.alloc(32, 0x5a);
const walletId = '01937a4e-0000-7000-8000-0000000000aa';
const deviceId = 'vend-12';
const purchase: Purchase = { merchant: '001-0000042', amount: { minor: 180, currency: 'EUR' }, article: 'water-500', quantity: 1 };
const deviceNonce = '0123456789abcdef0123456789abcdef';
const issuer = generateSigningKeyPair('issuer-e2e');

function ticket(i: number): Ticket {
  const body = {
    ticketId: `01937a4e-0001-7000-8000-${i.toString(16).padStart(12, '0')}`, walletId, product: `zone-${i}-day-pass-with-a-long-name`,
    validFrom: 1_732_430_000_000, validUntil: 1_732_516_400_000, uses: 1, keyId: issuer.keyId,
  };
  return { ...body, sig: signEd25519(issuer, ticketBytes(body)) };
}

const readers: Pn532Reader[] = [];
afterEach(async () => {
  for (const reader of readers.splice(0)) await reader.close();
});

async function tap(options: { timing: boolean; consent?: () => Promise<boolean> }): Promise<{ chip: VirtualPn532; phone: SimulatedPhone; reader: Pn532Reader; wallet: WalletClient }> {
  const chip = new VirtualPn532({ timing: options.timing ? realisticTiming(115200) : timingOff });
  const port = await openMockSerialPort(chip);
  const reader = new Pn532Reader(port.stream, {}, () => port.close());
  readers.push(reader);
  await reader.open();
  const phone = await SimulatedPhone.open({
    walletId, walletKey: deriveWalletKey(issuerMasterKey, walletId),
    ...(options.consent === undefined ? {} : { consent: options.consent }),
  });
  chip.field.place(phone);
  await expect(reader.waitForTarget({ timeoutMs: 1000 })).resolves.toMatchObject({ isoDep: true, sak: 0x20 });
  return { chip, phone, reader, wallet: new WalletClient(reader) };
}

describe('PN532 reader → virtual PN532 → simulated phone', () => {
  it('SELECTs the wallet applet and gets a purchase authorization the core can verify', async () => {
    const { wallet } = await tap({ timing: false });
    await expect(wallet.select()).resolves.toMatchObject({ appletVersion });
    const auth = await wallet.authorizePurchase({ deviceId, purchase, deviceNonce });
    expect(auth).toMatchObject({ walletId, deviceNonce, counter: 1 });
    const walletKeyOfCore = deriveWalletKey(issuerMasterKey, walletId);
    const input = { walletId, deviceId, purchase, deviceNonce, counter: auth.counter };
    expect(verifyWalletCryptogram(walletKeyOfCore, input, auth.cryptogram)).toBe(true);
    expect(verifyWalletCryptogram(walletKeyOfCore, { ...input, deviceNonce: deviceNonce.replace('0', '1') }, auth.cryptogram)).toBe(false);
  });

  it('carries chained commands and GET RESPONSE answers longer than one frame through the chip', async () => {
    const { wallet } = await tap({ timing: false });
    await wallet.select();
    const tickets = [1, 2, 3, 4].map(ticket);
    await wallet.putTickets(tickets, { replaceAll: true });
    await expect(wallet.getTickets()).resolves.toEqual(tickets);
  });

  it('a phone pulled away while the user is asked to consent gives TS_ERR_NFC_TARGET_LOST, not a hang', async () => {
    const { chip, phone, wallet } = await tap({ timing: false, consent: () => new Promise((resolve) => setTimeout(() => resolve(true), 1500)) });
    await wallet.select();
    const started = performance.now();
    const authorizing = wallet.authorizePurchase({ deviceId, purchase, deviceNonce }).then(() => 'resolved', (error: unknown) => (isNfcError(error) ? error.code : String(error)));
    setTimeout(() => {
      phone.remove();
      chip.field.remove(phone);
    }, 50);
    expect(await authorizing).toBe('TS_ERR_NFC_TARGET_LOST');
    expect(performance.now() - started).toBeLessThan(1000); // the chip reported it, the consent never came
  });

  it('with the timing model on, a SELECT + AUTHORIZE dialogue takes what a real reader would', async () => {
    const { wallet } = await tap({ timing: true });
    const started = performance.now();
    await wallet.select();
    const auth = await wallet.authorizePurchase({ deviceId, purchase, deviceNonce });
    const elapsedMs = performance.now() - started;
    console.info(`phone e2e with timing on: SELECT + AUTHORIZE PURCHASE in ${elapsedMs.toFixed(1)} ms`);
    expect(auth.counter).toBe(1);
    expect(elapsedMs).toBeGreaterThan(5); // ~250 UART bytes at 86.8 µs + RF time
    expect(elapsedMs).toBeLessThan(1000);
  });
});
