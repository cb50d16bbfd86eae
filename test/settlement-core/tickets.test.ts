/** Claims 15–16: tickets minted by the core, signed with the issuer key, journalled with the result. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ticket, generateSigningKeyPair, ticketBytes, verifyEd25519, verifyResultTag } from '../../protocol/index.ts';
import type { SigningKeyPair } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import { Clock, balanceOf, deviceKey, makeRequest, openCore, seedStation, settleOk, tempDir } from './fixtures.ts';
import type { Station } from './fixtures.ts';

const issuer: SigningKeyPair = generateSigningKeyPair('issuer-test-1');
const spec = { validitySec: 3600, uses: 1 };

let t: ReturnType<typeof tempDir>;
let core: SettlementCore;
let s: Station;

async function open(withIssuer: boolean, clock = new Clock()): Promise<SettlementCore> {
  return openCore(`${t.dir}/ledger.db`, { clock: clock.read, ...(withIssuer ? { ticketIssuer: { keyId: issuer.keyId, pair: issuer } } : {}) });
}

beforeEach(async () => {
  t = tempDir('tapsettle-tickets-');
  const clock = new Clock();
  core = await open(true, clock);
  s = await seedStation(core, clock, [{ balance: 1000 }, { balance: 100 }]);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

describe('tickets minted by the core', () => {
  it('puts an issuer-signed ticket into an approved result, with the terms asked for', async () => {
    const w = s.wallets[0]!;
    const reply = await settleOk(s, makeRequest(s, w, { amount: 300, article: 'day-pass', ticket: { validitySec: 86_400, uses: 2 } }));
    expect(reply.result.status).toBe('approved');
    const ticket = Ticket.parse(reply.result.ticket);
    expect(ticket).toMatchObject({ walletId: w.walletId, product: 'day-pass', validFrom: s.clock.now, validUntil: s.clock.now + 86_400_000, uses: 2, keyId: issuer.keyId });
    expect(verifyEd25519(issuer.publicKey, ticketBytes(ticket), ticket.sig)).toBe(true);
    expect(verifyEd25519(generateSigningKeyPair('x').publicKey, ticketBytes(ticket), ticket.sig)).toBe(false);
    expect(verifyEd25519(issuer.publicKey, ticketBytes({ ...ticket, uses: 3 }), ticket.sig)).toBe(false);
    // The tag still covers what it always covered; the ticket is checked by its own signature.
    expect(verifyResultTag(deviceKey(s.device), reply.result)).toBe(true);
    expect(await balanceOf(core, w.account)).toBe(700);
  });

  it('answers a redelivery with the same ticket, byte for byte, also after a restart, and keeps one ticket', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { ticket: spec });
    const first = await settleOk(s, req);
    s.clock.advance(10_000);
    const again = await settleOk(s, { ...req, sentAt: s.clock.now, seq: 7 });
    expect(again.replay).toBe(true);
    expect(again.json).toBe(first.json);
    await core.close();
    core = await open(true, s.clock);
    s.core = core;
    const afterRestart = await settleOk(s, req);
    expect(afterRestart.json).toBe(first.json);
    const stored = await core.store.walletTickets(w.walletId, 10);
    expect(stored).toEqual([{ ticket: first.result.ticket, deviceId: s.device, requestId: req.requestId }]);
  });

  it('gives a declined request no ticket and stores none', async () => {
    const poor = s.wallets[1]!;
    const reply = await settleOk(s, makeRequest(s, poor, { amount: 500, ticket: spec }));
    expect(reply.result).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
    expect(reply.result.ticket).toBeUndefined();
    expect(await core.store.walletTickets(poor.walletId, 10)).toEqual([]);
  });

  it('lists a wallet\'s tickets newest first, bounded, and only that wallet\'s', async () => {
    const [w0, w1] = s.wallets as [Station['wallets'][0], Station['wallets'][0]];
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      s.clock.advance(1000);
      ids.push((await settleOk(s, makeRequest(s, w0, { amount: 10, article: `ride-${i}`, ticket: spec }))).result.ticket!.ticketId);
    }
    await settleOk(s, makeRequest(s, w1, { amount: 10, ticket: spec }));
    await settleOk(s, makeRequest(s, w0, { amount: 10 })); // no ticket asked
    const listed = await core.store.walletTickets(w0.walletId, 2);
    expect(listed.map((x) => x.ticket.ticketId)).toEqual([ids[2], ids[1]]);
    expect((await core.store.walletTickets(w0.walletId, 10)).map((x) => x.ticket.product)).toEqual(['ride-2', 'ride-1', 'ride-0']);
    expect(await core.store.walletTickets(w1.walletId, 10)).toHaveLength(1);
    expect((await core.audit()).ok).toBe(true);
  });

  it('returns the money of a not-passed outcome, like a failed vend', async () => {
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { amount: 200, outcomeDeadlineSec: 30 });
    await settleOk(s, req);
    const ack = await core.outcome(s.device, JSON.stringify({ v: 1, type: 'outcome', requestId: makeRequest(s, w).requestId, sentAt: s.clock.now, deviceId: s.device, settleRequestId: req.requestId, outcome: 'not-passed' }));
    expect(ack).toMatchObject({ kind: 'outcome-ack', ack: { status: 'applied' } });
    expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: req.requestId }))?.state).toBe('reversed');
    expect(await balanceOf(core, w.account)).toBe(1000);
    expect((await core.audit()).ok).toBe(true);
  });
});

describe('without an issuer key', () => {
  it('declines a ticket request ticket-unavailable, moves no money and leaves the wallet counter unused', async () => {
    await core.close();
    core = await open(false, s.clock);
    s.core = core;
    const w = s.wallets[0]!;
    const req = makeRequest(s, w, { ticket: spec });
    const reply = await settleOk(s, req);
    expect(reply.result).toMatchObject({ status: 'declined', reason: 'ticket-unavailable' });
    expect(reply.result.ticket).toBeUndefined();
    expect(await balanceOf(core, w.account)).toBe(1000);
    expect((await core.store.getJournalEntry({ deviceId: s.device, requestId: req.requestId }))?.counter).toBeNull();
    // A sale without a ticket still works.
    expect((await settleOk(s, makeRequest(s, w))).result.status).toBe('approved');
  });

  it('refuses an issuer whose key id or key halves do not match', async () => {
    const other = generateSigningKeyPair('issuer-test-1');
    const clock = new Clock();
    const path = `${t.dir}/other.db`;
    await expect(openCore(path, { clock: clock.read, ticketIssuer: { keyId: 'another', pair: issuer } })).rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
    await expect(openCore(path, { clock: clock.read, ticketIssuer: { keyId: issuer.keyId, pair: { ...issuer, privateKey: other.privateKey } } })).rejects.toThrow(/does not belong/);
    await expect(openCore(path, { clock: clock.read, ticketIssuer: { keyId: issuer.keyId, pair: { ...issuer, privateKey: 'nope' } } })).rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
    await expect(openCore(path, { clock: clock.read, ticketIssuer: { keyId: '', pair: { ...issuer, keyId: '' } } })).rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
  });
});
