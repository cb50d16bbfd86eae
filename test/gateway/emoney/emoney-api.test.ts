/**
 * E-money end to end over the wallet API (claims 34–35): simulated phones
 * (their wallet API client and purse) against a gateway HTTP server over a
 * real core on SQLite, on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emoneyTokenBytes, generateSigningKeyPair, signEd25519, uuidv7 } from '../../../protocol/index.ts';
import type { EmoneyToken } from '../../../protocol/index.ts';
import { PhoneEmoney } from '../../../sim/phone/phone-emoney.ts';
import { WalletApiClient, WalletApiError } from '../../../sim/phone/wallet-api-client.ts';
import { WalletHoldings } from '../../../sim/phone/wallet-holdings.ts';
import { balanceOf } from '../../settlement-core/fixtures.ts';
import type { TestWallet } from '../../settlement-core/fixtures.ts';
import { startHarness } from '../http/harness.ts';
import type { Harness } from '../http/harness.ts';

const issuer = generateSigningKeyPair('issuer-emoney-api');
let h: Harness;

interface Phone { w: TestWallet; api: WalletApiClient; purse: WalletHoldings; emoney: PhoneEmoney }
const phone = (w: TestWallet): Phone => {
  const api = new WalletApiClient({ baseUrl: h.base, walletId: w.walletId, walletKey: w.walletKey });
  const purse = new WalletHoldings(w.walletId);
  return { w, api, purse, emoney: new PhoneEmoney(api, purse) };
};
let alice: Phone;
let bob: Phone;
let carol: Phone;

beforeAll(async () => {
  h = await startHarness({ customers: [{ balance: 10_000 }, { balance: 1_000 }, { balance: 0 }], core: { ticketIssuer: { keyId: issuer.keyId, pair: issuer } } });
  [alice, bob, carol] = h.station.wallets.map(phone) as [Phone, Phone, Phone];
});
afterAll(() => h.close());

const eur = (minor: number) => ({ minor, currency: 'EUR' });
const balance = (p: Phone) => balanceOf(h.station.core, p.w.account);
const refusedWith = async (p: Promise<unknown>, status: number, apiCode: string) => {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WalletApiError);
  expect(err).toMatchObject({ code: 'TS_ERR_WALLET_API_REFUSED', status, apiCode });
};

describe('e-money through the wallet API', () => {
  it('alice issues to bob; bob collects the token into his purse and deposits it; balances and audit agree', async () => {
    const decision = await alice.emoney.issue(eur(2_500), bob.w.walletId);
    expect(decision.status).toBe('issued');
    expect(await balance(alice)).toBe(7_500);
    const collected = await bob.emoney.collect();
    expect(collected).toHaveLength(1);
    expect(bob.purse.emoney()).toEqual(collected);
    expect(collected[0]).toMatchObject({ holder: bob.w.walletId, amount: eur(2_500), keyId: issuer.keyId });
    // Collecting again adds nothing: the purse already holds it.
    expect(await bob.emoney.collect()).toEqual([]);
    const deposited = await bob.emoney.deposit();
    expect(deposited).toMatchObject({ status: 'deposited', amount: eur(2_500), serials: [collected[0]!.serial] });
    expect(bob.purse.emoney()).toEqual([]);
    expect(await balance(bob)).toBe(3_500);
    expect((await h.station.core.audit()).ok).toBe(true);
  });

  it('a phone issues to itself and collects several tokens in serial order', async () => {
    for (const minor of [100, 200, 300]) {
      h.clock.advance(1);
      expect((await carol.emoney.issue(eur(minor), carol.w.walletId)).status).toBe('declined');
      expect((await alice.emoney.issue(eur(minor), carol.w.walletId)).status).toBe('issued');
    }
    const got = await carol.emoney.collect();
    expect(got.map((t) => t.amount.minor)).toEqual([100, 200, 300]);
    expect((await carol.emoney.deposit(got.slice(0, 2))).status).toBe('deposited');
    expect(carol.purse.emoney().map((t) => t.amount.minor)).toEqual([300]);
    expect(await balance(carol)).toBe(300);
  });

  it('refuses a double spend with a coded reason; the same deposit request resent gets the same answer', async () => {
    await alice.emoney.issue(eur(400), bob.w.walletId);
    const [token] = await bob.emoney.collect();
    const requestId = uuidv7();
    const first = await bob.emoney.deposit([token!], requestId);
    expect(first.status).toBe('deposited');
    const again = await bob.emoney.deposit([token!]);
    expect(again).toMatchObject({ status: 'refused', reason: 'already-spent', serial: token!.serial });
    // The phone lost the answer and resends the same request (a new proof, the same requestId and body): the same answer.
    const resent = await bob.api.signedRequest('POST', `/v1/wallets/${bob.w.walletId}/emoney/deposit`, { body: JSON.stringify({ requestId, tokens: [token] }) });
    expect(JSON.parse(resent)).toEqual(first);
    await refusedWith(bob.emoney.deposit([token!, token!], requestId), 409, 'TS_ERR_EMONEY_DUPLICATE_MISMATCH');
  });

  it('resends an issuance with the same answer, and refuses the id with other content (409)', async () => {
    const requestId = uuidv7();
    const first = await alice.emoney.issue(eur(10), alice.w.walletId, requestId);
    const again = await alice.emoney.issue(eur(10), alice.w.walletId, requestId);
    expect(again).toEqual(first);
    await refusedWith(alice.emoney.issue(eur(11), alice.w.walletId, requestId), 409, 'TS_ERR_EMONEY_DUPLICATE_MISMATCH');
    await refusedWith(bob.emoney.issue(eur(10), alice.w.walletId, requestId), 409, 'TS_ERR_EMONEY_DUPLICATE_MISMATCH');
  });

  it('refuses forged tokens and a deposit by a wallet that is not the holder; nothing moves', async () => {
    await alice.emoney.issue(eur(900), bob.w.walletId);
    const [token] = await bob.emoney.collect();
    const before = [await balance(alice), await balance(bob)];
    const { sig: _sig, ...unsigned } = token!;
    const altered: EmoneyToken = { ...token!, amount: eur(90_000) };
    const forged: EmoneyToken = { ...unsigned, amount: eur(9_000), sig: signEd25519(generateSigningKeyPair(issuer.keyId), emoneyTokenBytes({ ...unsigned, amount: eur(9_000) })) };
    expect(await bob.emoney.deposit([altered])).toMatchObject({ status: 'refused', reason: 'bad-signature' });
    expect(await bob.emoney.deposit([forged])).toMatchObject({ status: 'refused', reason: 'bad-signature' });
    expect(await alice.emoney.deposit([token!])).toMatchObject({ status: 'refused', reason: 'wrong-holder', serial: token!.serial });
    expect([await balance(alice), await balance(bob)]).toEqual(before);
    expect(bob.purse.emoney()).toContainEqual(token);
    // A purse never takes another wallet's token (PUT EMONEY answers 6A80).
    expect(alice.purse.putEmoney([token!], 0x00)).not.toBe(0x9000);
    expect((await h.station.core.audit()).ok).toBe(true);
  });

  it('declines issuance without the funds: nothing minted, nothing in the inbox', async () => {
    const before = await balance(carol);
    const d = await carol.emoney.issue(eur(before + 1), bob.w.walletId);
    expect(d).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
    expect(await balance(carol)).toBe(before);
    const inbox = JSON.parse(await bob.api.signedRequest('GET', `/v1/wallets/${bob.w.walletId}/emoney/inbox`)) as { tokens: EmoneyToken[] };
    expect(inbox.tokens.map((t) => t.amount.minor)).not.toContain(before + 1);
  });

  it('takes a whole purse (32 tokens) in one deposit, above the 4 KiB message limit', async () => {
    const dave = carol;
    if (dave.purse.emoney().length > 0) expect((await dave.emoney.deposit()).status).toBe('deposited');
    for (let i = 0; i < 32; i += 1) {
      h.clock.advance(1);
      await alice.emoney.issue(eur(1), dave.w.walletId);
    }
    const before = await balance(dave);
    await dave.emoney.collect();
    expect(dave.purse.emoney().length).toBe(32);
    expect(JSON.stringify(dave.purse.emoney()).length).toBeGreaterThan(4096);
    const d = await dave.emoney.deposit();
    expect(d).toMatchObject({ status: 'deposited', amount: eur(32) });
    expect(await balance(dave)).toBe(before + 32);
  });
});
