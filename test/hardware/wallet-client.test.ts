import { describe, expect, it } from 'vitest';
import { WalletAppletError, WalletClient } from '../../hardware/wallet-client.ts';
import type { ApduTransport, WalletClientOptions } from '../../hardware/wallet-client.ts';
import { appletData, encodeResponseApdu, sw } from '../../protocol/applet.ts';
import { deriveWalletKey, SettleRequest, uuidv7, verifyWalletCryptogram } from '../../protocol/index.ts';
import { DirectTransport } from '../../sim/phone/direct-transport.ts';
import type { SimulatedPhoneOptions } from '../../sim/phone/phone.ts';
import { admission, authorizeRequest, deviceId, issuerMasterKey, otherWalletId, purchase, ticket, token, walletId } from '../sim/phone/fixtures.ts';
import { openPhone } from '../sim/phone/helpers.ts';

async function connect(phoneOptions: Partial<SimulatedPhoneOptions> = {}, clientOptions: WalletClientOptions = {}) {
  const phone = await openPhone(phoneOptions);
  const transport = new DirectTransport(phone);
  const target = transport.activate();
  return { phone, transport, target, client: new WalletClient(transport, clientOptions) };
}

async function appletError(promise: Promise<unknown>): Promise<WalletAppletError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  if (!(err instanceof WalletAppletError)) throw new Error(`expected a WalletAppletError, got ${String(err)}`);
  return err;
}

/** A transport that answers whatever the test scripts, to play a phone that misbehaves. */
const scripted = (answer: (apdu: Uint8Array) => Uint8Array): ApduTransport => ({ exchange: (apdu) => Promise.resolve(answer(apdu)) });

describe('WalletClient over the direct transport: the full dialogue with a simulated phone', () => {
  it('selects, reads the wallet, authorizes a purchase the core can verify, then carries documents both ways', async () => {
    const { client, target } = await connect({ initialCounter: 9 });
    expect(target.isoDep).toBe(true);
    expect(await client.select()).toEqual({ appletVersion: 1 });
    expect(await client.getWallet()).toEqual({ walletId, counter: 9 });

    const request = authorizeRequest(7);
    const auth = await client.authorizePurchase(request);
    expect(auth).toMatchObject({ walletId, counter: 10, deviceNonce: request.deviceNonce });
    const core = deriveWalletKey(issuerMasterKey, walletId);
    expect(verifyWalletCryptogram(core, { walletId, deviceId, purchase, deviceNonce: request.deviceNonce, counter: auth.counter }, auth.cryptogram)).toBe(true);
    // What the client returns drops straight into a settle request.
    const settle = { v: 1, type: 'settle', requestId: uuidv7(), sentAt: Date.now(), deviceId, purchase, wallet: auth };
    expect(SettleRequest.safeParse(settle).success).toBe(true);

    const tickets = Array.from({ length: 8 }, (_, i) => ticket(i));
    await client.putTickets(tickets);
    expect(await client.getTickets()).toEqual(tickets);
    expect(await client.getTicket(5)).toEqual(tickets[5]);

    expect(await client.getAdmission()).toBeNull();
    await client.putAdmission(admission());
    expect(await client.getAdmission()).toEqual(admission());
    await client.putAdmission(null);
    expect(await client.getAdmission()).toBeNull();

    const tokens = Array.from({ length: 12 }, (_, i) => token(i));
    await client.putEmoney(tokens);
    await client.putEmoney(tokens.slice(4), { replaceAll: true });
    expect(await client.getEmoney()).toEqual(tokens.slice(4));
    expect(await client.getWallet()).toEqual({ walletId, counter: 10 });
  });

  it('works with small frames: every command chained and every answer fetched in pieces', async () => {
    const { client, phone } = await connect({}, { commandChunkBytes: 16, responseChunkBytes: 24 });
    await client.select();
    const tickets = [ticket(1), ticket(2), ticket(3)];
    await client.putTickets(tickets);
    expect(await client.getTickets()).toEqual(tickets);
    expect((await client.authorizePurchase(authorizeRequest())).counter).toBe(1);
    expect(phone.counter).toBe(1);
  });

  it('needs SELECT again after the reader released the phone', async () => {
    const { client, transport } = await connect();
    await client.select();
    await transport.release();
    await expect(client.getWallet()).rejects.toMatchObject({ code: 'TS_ERR_NFC_NO_TARGET' });
    transport.activate();
    expect(await appletError(client.getWallet())).toMatchObject({ code: 'TS_ERR_APPLET_UNKNOWN', sw: sw.unknown });
    await client.select();
    expect((await client.getWallet()).walletId).toBe(walletId);
  });
});

describe('WalletClient: refusals and failures as coded errors', () => {
  it('maps status words to codes: declined purchase, missing ticket, foreign document, full wallet', async () => {
    const { client } = await connect({ consent: () => false });
    await client.select();
    expect(await appletError(client.authorizePurchase(authorizeRequest()))).toMatchObject({ code: 'TS_ERR_APPLET_CONDITIONS', sw: sw.conditionsNotSatisfied });
    expect(await appletError(client.getTicket(0))).toMatchObject({ code: 'TS_ERR_APPLET_RECORD_NOT_FOUND', sw: sw.recordNotFound });
    expect(await appletError(client.putTickets([ticket(1, otherWalletId)]))).toMatchObject({ code: 'TS_ERR_APPLET_WRONG_DATA', sw: sw.wrongData });
    await client.putTickets(Array.from({ length: 16 }, (_, i) => ticket(i)));
    expect(await appletError(client.putTickets([ticket(99)]))).toMatchObject({ code: 'TS_ERR_APPLET_FULL', sw: sw.notEnoughMemory });
  });

  it('refuses to send what the encoding cannot carry, before anything leaves the host', async () => {
    let sent = 0;
    const client = new WalletClient(scripted(() => (sent += 1, encodeResponseApdu(new Uint8Array(0), sw.ok))));
    const err = await appletError(client.authorizePurchase({ ...authorizeRequest(), deviceNonce: 'not-hex' }));
    expect(err).toMatchObject({ code: 'TS_ERR_APPLET_BAD_REQUEST', sw: null });
    expect(sent).toBe(0);
  });

  it('passes on the transport failure when the phone leaves the field, and times out a phone that never answers', async () => {
    const { client, phone } = await connect();
    await client.select();
    phone.remove();
    await expect(client.getWallet()).rejects.toMatchObject({ code: 'TS_ERR_NFC_TARGET_LOST' });

    const stalled = await connect({ consent: () => new Promise<boolean>(() => undefined), consentTimeoutMs: 300 }, { exchangeTimeoutMs: 50 });
    await stalled.client.select();
    await expect(stalled.client.authorizePurchase(authorizeRequest())).rejects.toMatchObject({ code: 'TS_ERR_NFC_TIMEOUT' });
  });

  it('calls a garbled, endless or foreign answer a bad response', async () => {
    const garbled = new WalletClient(scripted(() => Uint8Array.of(0x90)));
    expect(await appletError(garbled.getWallet())).toMatchObject({ code: 'TS_ERR_APPLET_BAD_RESPONSE' });
    const endless = new WalletClient(scripted(() => encodeResponseApdu(new Uint8Array(1), 0x6101)));
    expect((await appletError(endless.getWallet())).message).toMatch(/GET RESPONSE rounds|longer than/);
    const notOurs = new WalletClient(scripted(() => encodeResponseApdu(Uint8Array.of(1, 2, 3), sw.ok)));
    expect(await appletError(notOurs.getWallet())).toMatchObject({ code: 'TS_ERR_APPLET_BAD_RESPONSE', sw: sw.ok });
    const future = new WalletClient(scripted(() => encodeResponseApdu(appletData.select.encode({ appletVersion: 2 }), sw.ok)));
    expect(await appletError(future.select())).toMatchObject({ code: 'TS_ERR_APPLET_VERSION' });
  });

  it('refuses options out of range, naming the option', () => {
    const transport = scripted(() => new Uint8Array(2));
    expect(() => new WalletClient(transport, { exchangeTimeoutMs: 0 })).toThrow(/exchangeTimeoutMs/);
    expect(() => new WalletClient(transport, { commandChunkBytes: 256 })).toThrow(/commandChunkBytes/);
    expect(() => new WalletClient(transport, { responseChunkBytes: 257 })).toThrow(WalletAppletError);
  });
});
