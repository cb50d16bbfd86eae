/** Claims 15–16 over HTTP: a wallet fetches the tickets the core minted for it, with a fresh proof, and nobody else's. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeRequest, settleOk } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { Ticket, generateSigningKeyPair, ticketBytes, verifyEd25519 } from '../../../protocol/index.ts';
import type { IssuedTicket } from '../../../settlement-core/index.ts';
import { walletTicketsDefault, walletTicketsMax } from '../../../gateway/http/schemas.ts';
import { call, errorCodeOf, signed, startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

const issuer = generateSigningKeyPair('issuer-http-1');
let h: Harness;
let w0: TestWallet;
let w1: TestWallet;
const path = (w: TestWallet) => `/v1/wallets/${w.walletId}/tickets`;
const spec = { validitySec: 600, uses: 1 };

beforeAll(async () => {
  h = await startHarness({ core: { ticketIssuer: { keyId: issuer.keyId, pair: issuer } } });
  [w0, w1] = h.station.wallets as [TestWallet, TestWallet];
  for (let i = 0; i < walletTicketsDefault + 2; i += 1) {
    h.clock.advance(1000);
    await settleOk(h.station, makeRequest(h.station, w0, { amount: 10, article: `ride-${i}`, ticket: spec }));
  }
  await settleOk(h.station, makeRequest(h.station, w1, { amount: 10, article: 'w1-ride', ticket: spec }));
});
afterAll(() => h.close());

describe('GET /v1/wallets/{w}/tickets', () => {
  it('returns the wallet\'s own tickets, newest first, at most the default number, each verifying under the issuer key', async () => {
    const r = await call(signed(h.base, w0, 'GET', path(w0)));
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const body = r.body as { walletId: string; tickets: IssuedTicket[] };
    expect(body.walletId).toBe(w0.walletId);
    expect(body.tickets).toHaveLength(walletTicketsDefault);
    expect(body.tickets[0]!.ticket.product).toBe(`ride-${walletTicketsDefault + 1}`);
    for (const { ticket, deviceId } of body.tickets) {
      expect(deviceId).toBe(h.station.device);
      const t = Ticket.parse(ticket);
      expect(t.walletId).toBe(w0.walletId);
      expect(verifyEd25519(issuer.publicKey, ticketBytes(t), t.sig)).toBe(true);
    }
  });

  it('takes a limit, covered by the proof, and refuses one out of range', async () => {
    const r = await call(signed(h.base, w0, 'GET', path(w0), { params: { limit: '3' } }));
    expect((r.body as { tickets: IssuedTicket[] }).tickets.map((x) => x.ticket.product)).toEqual([`ride-${walletTicketsDefault + 1}`, `ride-${walletTicketsDefault}`, `ride-${walletTicketsDefault - 1}`]);
    for (const limit of ['0', String(walletTicketsMax + 1), 'x', '01']) {
      const bad = await call(signed(h.base, w0, 'GET', path(w0), { params: { limit } }));
      expect(bad.status, limit).toBe(400);
      expect(errorCodeOf(bad)).toBe('TS_ERR_INVALID_QUERY');
    }
    const other = await call(signed(h.base, w0, 'GET', path(w0), { params: { from: '1' } }));
    expect(errorCodeOf(other)).toBe('TS_ERR_INVALID_QUERY');
    const tampered = await call(signed(h.base, w0, 'GET', path(w0), { params: { limit: '3' }, sendParams: { limit: '4' } }));
    expect(tampered.status).toBe(401);
  });

  it('refuses another wallet\'s tickets with this wallet\'s proof, a missing proof and a reused counter, reading nothing', async () => {
    const read = vi.spyOn(h.station.core.store, 'walletTickets');
    try {
      const forged = await call(signed(h.base, w1, 'GET', path(w1), { signAs: w0 }));
      expect(forged.status).toBe(401);
      expect(errorCodeOf(forged)).toBe('TS_ERR_BAD_PROOF');
      const bare = await fetch(`${h.base}${path(w0)}`);
      expect(bare.status).toBe(401);
      const once = signed(h.base, w1, 'GET', path(w1));
      expect((await call(once)).status).toBe(200);
      const replay = await call(once);
      expect(errorCodeOf(replay)).toBe('TS_ERR_COUNTER_REUSED');
      expect(read).toHaveBeenCalledTimes(1);
      expect(read).toHaveBeenCalledWith(w1.walletId, walletTicketsDefault);
    } finally {
      read.mockRestore();
    }
    const bad = await fetch(`${h.base}/v1/wallets/not-a-wallet/tickets`);
    expect(bad.status).toBe(400);
  });
});
