import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appletCommands, appletData, cla, decodeResponseApdu, encodeCommandApdu, ins, sw } from '../../../protocol/applet.ts';
import { deriveWalletKey, limits, verifyWalletCryptogram } from '../../../protocol/index.ts';
import { PhoneError } from '../../../sim/phone/errors.ts';
import { queuedExchangesMax } from '../../../sim/phone/phone.ts';
import { authorizeRequest, deviceId, issuerMasterKey, purchase, walletId } from './fixtures.ts';
import { openPhone, selectedPhone, send, sendRaw } from './helpers.ts';

describe('simulated phone: as an ISO 14443-A target', () => {
  it('presents itself as an ISO-DEP phone with a fresh random UID at every activation', async () => {
    const phone = await openPhone();
    expect(phone.sak & 0x20).toBe(0x20);
    expect(phone.atqa).toHaveLength(2);
    expect(phone.ats.byteLength).toBeGreaterThan(0);
    const uids = Array.from({ length: 8 }, () => Buffer.from(phone.activate()).toString('hex'));
    expect(new Set(uids).size).toBe(uids.length);
    for (const uid of uids) expect(uid).toMatch(/^08[0-9a-f]{6}$/);
  });

  it('takes its UID from the injected random source, so a seeded run replays', async () => {
    let next = 0;
    const phone = await openPhone({ randomBytes: (n) => Uint8Array.from({ length: n }, () => (next += 1)) });
    expect(Array.from(phone.activate())).toEqual([0x08, 2, 3, 4]);
    expect(Array.from(phone.activate())).toEqual([0x08, 6, 7, 8]);
  });

  it('rejects every exchange once removed from the field, and cannot be activated until placed back', async () => {
    const phone = await selectedPhone();
    phone.remove();
    expect(phone.present).toBe(false);
    await expect(phone.transceive(Uint8Array.of(0x80, ins.getWallet, 0, 0, 0))).rejects.toMatchObject({ code: 'TS_ERR_PHONE_NOT_IN_FIELD' });
    expect(() => phone.activate()).toThrow(PhoneError);
    phone.placeInField();
    await expect(phone.transceive(Uint8Array.of(0x80, ins.getWallet, 0, 0, 0))).rejects.toMatchObject({ code: 'TS_ERR_PHONE_NOT_ACTIVATED' });
    phone.activate();
    expect((await send(phone, appletCommands.select())).sw).toBe(sw.ok);
  });

  it('refuses options that are missing or out of range, naming the option', async () => {
    await expect(openPhone({ walletId: 'not-a-wallet' })).rejects.toThrow(/walletId/);
    await expect(openPhone({ walletKey: new Uint8Array(8) })).rejects.toThrow(/walletKey/);
    await expect(openPhone({ initialCounter: -1 })).rejects.toMatchObject({ code: 'TS_ERR_PHONE_OPTION' });
    await expect(openPhone({ consentTimeoutMs: 0 })).rejects.toThrow(/consentTimeoutMs/);
  });
});

describe('simulated phone: routing as Android host card emulation', () => {
  it('answers 6F00 to anything before a SELECT routed the session, as AOSP does', async () => {
    const phone = await openPhone();
    phone.activate();
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.unknown);
    expect((await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest())))).sw).toBe(sw.unknown);
    expect(phone.counter).toBe(0);
  });

  it('answers 6A82 to an unknown AID and keeps an existing routing', async () => {
    const phone = await openPhone();
    phone.activate();
    expect((await sendRaw(phone, [0x00, 0xa4, 0x04, 0x00, 0x07, 0xa0, 0, 0, 0, 0x03, 0x10, 0x10, 0x00])).sw).toBe(sw.appletNotFound);
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.unknown);
    expect((await send(phone, appletCommands.select())).sw).toBe(sw.ok);
    expect((await sendRaw(phone, [0x00, 0xa4, 0x04, 0x00, 0x06, 0xf0, 1, 2, 3, 4, 5, 0x00])).sw).toBe(sw.appletNotFound);
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.ok);
  });

  it('answers SELECT with its applet version', async () => {
    const phone = await openPhone();
    phone.activate();
    const answer = await send(phone, appletCommands.select());
    expect(appletData.select.decode(answer.data)).toEqual({ appletVersion: 1 });
  });

  it('needs a new SELECT after every new activation or release', async () => {
    const phone = await selectedPhone();
    phone.activate();
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.unknown);
    await send(phone, appletCommands.select());
    phone.deactivate();
    phone.activate();
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.unknown);
  });

  it('answers bad lengths 6700, bad data 6A80, unknown INS 6D00, unknown CLA 6E00, bad P1-P2 6A86', async () => {
    const phone = await selectedPhone();
    expect((await sendRaw(phone, [0x80, ins.getWallet, 0, 0, 0x05, 1, 2])).sw).toBe(sw.wrongLength);
    expect((await sendRaw(phone, [0x80, ins.getWallet, 0, 0, 0x01, 1, 0x00])).sw).toBe(sw.wrongLength);
    expect((await send(phone, appletCommands.authorizePurchase(Uint8Array.of(1, 0x03, 0x02, 0x41)))).sw).toBe(sw.wrongData);
    expect((await send(phone, appletCommands.authorizePurchase(Uint8Array.of(9, 1, 2, 3)))).sw).toBe(sw.wrongData);
    expect((await sendRaw(phone, [0x80, 0x7e, 0, 0, 0x00])).sw).toBe(sw.insNotSupported);
    expect((await sendRaw(phone, [0x00, 0xb0, 0, 0, 0x00])).sw).toBe(sw.insNotSupported);
    expect((await sendRaw(phone, [0xa0, ins.getWallet, 0, 0, 0x00])).sw).toBe(sw.claNotSupported);
    expect((await sendRaw(phone, [0x80, ins.getWallet, 1, 0, 0x00])).sw).toBe(sw.incorrectP1P2);
    expect((await send(phone, appletCommands.getResponse())).sw).toBe(sw.conditionsNotSatisfied);
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.ok);
  });

  it('answers every APDU whatever its bytes, with a well-formed response', async () => {
    const phone = await selectedPhone();
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }).map((b) => Uint8Array.from([cla.proprietary, ...b]))),
      async (apdu) => {
        const response = await phone.transceive(apdu);
        expect(response.byteLength).toBeGreaterThanOrEqual(2);
        expect(response.byteLength).toBeLessThanOrEqual(258);
      },
    ), { numRuns: 2000 });
  });
});

describe('simulated phone: AUTHORIZE PURCHASE', () => {
  const walletKeyFromCore = deriveWalletKey(issuerMasterKey, walletId);

  it('returns a cryptogram the core verifies with the wallet key it derives', async () => {
    const phone = await selectedPhone();
    const request = authorizeRequest(42);
    const answer = await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(request)));
    expect(answer.sw).toBe(sw.ok);
    const auth = appletData.authorizeResponse.decode(answer.data);
    expect(auth.walletId).toBe(walletId);
    expect(auth.counter).toBe(1);
    const input = { walletId, deviceId, purchase, deviceNonce: request.deviceNonce, counter: auth.counter };
    expect(verifyWalletCryptogram(walletKeyFromCore, input, auth.cryptogram)).toBe(true);
    expect(verifyWalletCryptogram(walletKeyFromCore, { ...input, counter: 2 }, auth.cryptogram)).toBe(false);
  });

  it('uses a new, larger counter for every purchase and reports it in GET WALLET', async () => {
    const phone = await selectedPhone({ initialCounter: 100 });
    const counters: number[] = [];
    for (let n = 0; n < 5; n += 1) {
      const answer = await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest(n))));
      counters.push(appletData.authorizeResponse.decode(answer.data).counter);
    }
    expect(counters).toEqual([101, 102, 103, 104, 105]);
    expect(appletData.walletInfo.decode((await send(phone, appletCommands.getWallet())).data)).toEqual({ walletId, counter: 105 });
  });

  it('answers 6985 without spending a counter value when the user declines', async () => {
    const seen: string[] = [];
    const phone = await selectedPhone({ consent: (r) => (seen.push(r.kind === 'purchase' ? r.purchase.article : 'a card read'), false) });
    const answer = await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest())));
    expect(answer.sw).toBe(sw.conditionsNotSatisfied);
    expect(seen).toEqual(['cola-330']);
    expect(phone.counter).toBe(0);
  });

  it('counts a user who never answers the prompt as declining, once consentTimeoutMs has passed', async () => {
    const phone = await selectedPhone({ consent: () => new Promise<boolean>(() => undefined), consentTimeoutMs: 30 });
    const answer = await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest())));
    expect(answer.sw).toBe(sw.conditionsNotSatisfied);
    expect(phone.counter).toBe(0);
  });

  it('refuses a runaway caller instead of queueing APDUs without end', async () => {
    const phone = await selectedPhone({ consent: () => new Promise<boolean>(() => undefined), consentTimeoutMs: 50 });
    const apdu = encodeCommandApdu(appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest())));
    const waiting = Array.from({ length: queuedExchangesMax }, () => phone.transceive(apdu));
    await expect(phone.transceive(apdu)).rejects.toMatchObject({ code: 'TS_ERR_PHONE_BUSY' });
    for (const response of await Promise.all(waiting)) expect(decodeResponseApdu(response).sw).toBe(sw.conditionsNotSatisfied);
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.ok);
  });

  it('answers 6985 once the 32-bit counter is exhausted', async () => {
    const phone = await selectedPhone({ initialCounter: limits.walletCounterMax });
    const answer = await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest())));
    expect(answer.sw).toBe(sw.conditionsNotSatisfied);
  });
});
