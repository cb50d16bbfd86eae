/** Claim 9 (the phone sends the settling information), claim 13 (cancel in the cooling-off period), claim 12 (fetch a result). */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { balanceOf, deviceKey, makeRequest, settleOk } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { SettleResult, verifyResultTag } from '../../../protocol/index.ts';
import { call, errorCodeOf, post, signed, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

let h: Harness;
let w0: TestWallet;
let w1: TestWallet;

beforeAll(async () => {
  h = await startHarness();
  [w0, w1] = h.station.wallets as [TestWallet, TestWallet];
});
afterAll(() => h.close());

describe('POST /v1/settle (claim 9)', () => {
  it('settles the phone\'s request, answers the phone and hands the same bytes to the device\'s sink', async () => {
    const before = h.sink.toDevice.length;
    const req = makeRequest(h.station, w0, { amount: 320 });
    const r = await post(h.base, '/v1/settle', JSON.stringify(req));
    expect(r.status).toBe(200);
    const result = SettleResult.parse(r.body);
    expect(result).toMatchObject({ requestId: req.requestId, deviceId: 'vm-1', status: 'approved', amount: { minor: 320, currency: 'EUR' } });
    expect(verifyResultTag(deviceKey('vm-1'), result)).toBe(true);
    const delivered = await h.sink.deviceDeliveries(before + 1);
    expect(delivered[before]).toEqual({ deviceId: 'vm-1', json: r.text });
    expect(h.sink.toWallet.at(-1)).toEqual({ walletId: w0.walletId, json: r.text });
    expect(await balanceOf(h.station.core, w0.account)).toBe(10_000 - 320);
    // A resend (the phone heard nothing) gets the stored answer, byte for byte, and settles nothing more.
    const again = await post(h.base, '/v1/settle', JSON.stringify(req));
    expect(again.text).toBe(r.text);
    expect(await balanceOf(h.station.core, w0.account)).toBe(10_000 - 320);
  });

  it('declines a request whose cryptogram does not verify, and does not send it to the wallet named', async () => {
    const req = makeRequest(h.station, w0, { amount: 100 });
    const forged = { ...req, purchase: { ...req.purchase, amount: { minor: 1, currency: 'EUR' } } };
    const walletDeliveries = h.sink.toWallet.length;
    const r = await post(h.base, '/v1/settle', JSON.stringify(forged));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'declined', reason: 'bad-cryptogram' });
    expect(h.sink.toWallet).toHaveLength(walletDeliveries);
    expect(h.hub.recent(w0.walletId, req.requestId)).toBeUndefined();
  });

  it('answers the phone even when the device sink fails', async () => {
    const failing = vi.spyOn(h.sink, 'deliverToDevice').mockImplementation(() => {
      throw new Error('broker down');
    });
    try {
      const r = await post(h.base, '/v1/settle', JSON.stringify(makeRequest(h.station, w0, { amount: 15 })));
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'approved' });
      failing.mockImplementation(() => Promise.reject(new Error('publish timed out')));
      const again = await post(h.base, '/v1/settle', JSON.stringify(makeRequest(h.station, w0, { amount: 16 })));
      expect(again.body).toMatchObject({ status: 'approved' });
      expect(failing).toHaveBeenCalledTimes(2);
    } finally {
      failing.mockRestore();
    }
  });

  it('refuses a body that is not a SettleRequest with a coded 4xx, without journalling it', async () => {
    const req = makeRequest(h.station, w0);
    const r = await post(h.base, '/v1/settle', JSON.stringify({ ...req, extra: 1 }));
    expect([r.status, errorCodeOf(r)]).toEqual([400, 'TS_ERR_INVALID_BODY']);
    expect(await h.station.core.store.getJournalEntry({ deviceId: 'vm-1', requestId: req.requestId })).toBeNull();
    expect(errorCodeOf(await post(h.base, '/v1/settle', '{"v":1'))).toBe('TS_ERR_MALFORMED_JSON');
    expect(errorCodeOf(await post(h.base, '/v1/settle', JSON.stringify(req), 'text/plain'))).toBe('TS_ERR_UNSUPPORTED_MEDIA_TYPE');
    const big = await post(h.base, '/v1/settle', JSON.stringify({ ...req, pad: 'x'.repeat(5000) }));
    expect([big.status, errorCodeOf(big)]).toEqual([413, 'TS_ERR_BODY_TOO_LARGE']);
  });
});

describe('POST /v1/wallets/{w}/cancel (claim 13)', () => {
  const cancel = (w: TestWallet, body: object, signAs?: TestWallet) =>
    call(signed(h.base, w, 'POST', `/v1/wallets/${w.walletId}/cancel`, { body: JSON.stringify(body), ...(signAs ? { signAs } : {}) }));

  it('cancels a cooling-off purchase within its period and refunds the payer', async () => {
    const start = await balanceOf(h.station.core, w0.account);
    const req = makeRequest(h.station, w0, { amount: 900, restrictions: { coolingOffSec: 600 } });
    const settled = await settleOk(h.station, req);
    expect(settled.result.deferredUntil).toBe(h.clock.now + 600_000);
    expect(await balanceOf(h.station.core, w0.account)).toBe(start - 900);
    h.clock.advance(60_000);
    const key = { deviceId: 'vm-1', requestId: req.requestId };
    // Another wallet cannot cancel it, even with a valid proof of its own.
    const foreign = await cancel(w1, key);
    expect([foreign.status, errorCodeOf(foreign)]).toEqual([404, 'TS_ERR_UNKNOWN_REQUEST']);
    // A proof over other body bytes does not verify.
    const s = signed(h.base, w0, 'POST', `/v1/wallets/${w0.walletId}/cancel`, { body: JSON.stringify(key) });
    const tampered = await call({ ...s, init: { ...s.init, body: JSON.stringify({ requestId: key.requestId, deviceId: key.deviceId }) } });
    expect([tampered.status, errorCodeOf(tampered)]).toEqual([401, 'TS_ERR_BAD_PROOF']);
    const r = await cancel(w0, key);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ...key, status: 'cancelled' });
    expect(await balanceOf(h.station.core, w0.account)).toBe(start);
    expect((await cancel(w0, key)).body).toEqual({ ...key, status: 'already-cancelled' });
    expect((await h.station.core.audit()).ok).toBe(true);
  });

  it('refuses a cancel after the period, and a purchase without one', async () => {
    const req = makeRequest(h.station, w0, { amount: 50, restrictions: { coolingOffSec: 10 } });
    await settleOk(h.station, req);
    h.clock.advance(11_000);
    const late = await cancel(w0, { deviceId: 'vm-1', requestId: req.requestId });
    expect([late.status, errorCodeOf(late)]).toEqual([409, 'TS_ERR_NOT_CANCELLABLE']);
    const spot = makeRequest(h.station, w0, { amount: 50 });
    await settleOk(h.station, spot);
    const none = await cancel(w0, { deviceId: 'vm-1', requestId: spot.requestId });
    expect(errorCodeOf(none)).toBe('TS_ERR_NOT_CANCELLABLE');
    const malformed = await cancel(w0, { deviceId: 'vm-1' });
    expect([malformed.status, errorCodeOf(malformed)]).toEqual([400, 'TS_ERR_INVALID_BODY']);
  });
});

describe('GET /v1/wallets/{w}/results/{requestId} (claim 12)', () => {
  const fetchResult = (w: TestWallet, requestId: string, params: Record<string, string> = {}) =>
    call(signed(h.base, w, 'GET', `/v1/wallets/${w.walletId}/results/${requestId}`, { params }));

  it('gives the wallet its recent result, and a device-sent one from the journal', async () => {
    const viaPhone = makeRequest(h.station, w0, { amount: 10 });
    const answer = await post(h.base, '/v1/settle', JSON.stringify(viaPhone));
    const recent = await fetchResult(w0, viaPhone.requestId);
    expect([recent.status, recent.text]).toEqual([200, answer.text]);
    // Settled over MQTT (directly with the core here): not in the hub, but in the journal.
    const viaDevice = makeRequest(h.station, w0, { amount: 11 });
    const settled = await settleOk(h.station, viaDevice);
    const notRecent = await fetchResult(w0, viaDevice.requestId);
    expect([notRecent.status, errorCodeOf(notRecent)]).toEqual([404, 'TS_ERR_UNKNOWN_REQUEST']);
    const fromJournal = await fetchResult(w0, viaDevice.requestId, { deviceId: 'vm-1' });
    expect([fromJournal.status, fromJournal.text]).toEqual([200, settled.json]);
  });

  it('never gives one wallet another wallet\'s result', async () => {
    const req = makeRequest(h.station, w0, { amount: 12 });
    await post(h.base, '/v1/settle', JSON.stringify(req));
    const other = await fetchResult(w1, req.requestId, { deviceId: 'vm-1' });
    expect([other.status, errorCodeOf(other)]).toEqual([404, 'TS_ERR_UNKNOWN_REQUEST']);
    const forged = await call(signed(h.base, w0, 'GET', `/v1/wallets/${w0.walletId}/results/${req.requestId}`, { signAs: w1 }));
    expect([forged.status, errorCodeOf(forged)]).toEqual([401, 'TS_ERR_BAD_PROOF']);
  });
});
