/**
 * E-money (claims 34–35) on one ledger store, run against SQLite and
 * PostgreSQL alike: issuance, the inbox, deposit, double spend, forgeries,
 * wrong holder, declines that mint nothing, replays, the store's own checks
 * on its e-money rows, and the audit's float check.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EmoneyToken, emoneyTokenBytes, generateSigningKeyPair, signEd25519, uuidv7, verifyEd25519 } from '../../../protocol/index.ts';
import type { SigningKeyPair } from '../../../protocol/index.ts';
import { InvariantError, SettlementCore } from '../../../settlement-core/index.ts';
import type { LedgerStore, Wallet } from '../../../settlement-core/index.ts';
import { retiredIssuerKeysMax } from '../../../settlement-core/emoney/index.ts';
import type { EmoneyIssueAnswer, EmoneyReply } from '../../../settlement-core/emoney/index.ts';
import { Clock, balanceOf, deviceKey, issuerMasterKey, seedStation } from '../fixtures.ts';
import type { Station } from '../fixtures.ts';

export const issuer: SigningKeyPair = generateSigningKeyPair('issuer-emoney-test');

export interface StoreMaker {
  /** A fresh, empty store; the same `name` again reopens the same database. */
  open(name: string): LedgerStore;
  cleanup(): Promise<void>;
}

type Answer<A> = Extract<EmoneyReply<A>, { kind: 'answer' }>;
function answered<A>(r: EmoneyReply<A>): Answer<A> {
  if (r.kind !== 'answer') throw new Error('expected an answer, got a mismatch');
  return r;
}

export function emoneySuite(label: string, makeStores: () => StoreMaker): void {
  describe(`e-money on ${label}`, () => {
    let stores: StoreMaker;
    let core: SettlementCore;
    let s: Station;
    let alice: Wallet;
    let bob: Wallet;
    let float: string;
    const clock = new Clock();

    const open = (withIssuer = true) => SettlementCore.open({
      store: stores.open('main'), issuerMasterKey, deviceKey, scheduler: false, clock: clock.read,
      ...(withIssuer ? { ticketIssuer: { keyId: issuer.keyId, pair: issuer } } : {}),
    });
    const wallet = async (id: string): Promise<Wallet> => (await core.store.getWallet(id))!;
    const issue = async (from: Wallet, amount: number, recipient: Wallet, requestId = uuidv7(clock.now)) =>
      answered(await core.issueEmoney(from, { requestId, amount: { minor: amount, currency: 'EUR' }, recipient: recipient.id }));
    const deposit = async (by: Wallet, tokens: EmoneyToken[], requestId = uuidv7(clock.now)) =>
      answered(await core.depositEmoney(by, { requestId, tokens }));
    const issuedToken = (a: Answer<EmoneyIssueAnswer>): EmoneyToken => {
      if (a.answer.status !== 'issued') throw new Error(`declined: ${a.answer.reason}`);
      return a.answer.tokens[0]!;
    };
    const expectAuditOk = async () => {
      const report = await core.audit();
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.map((c) => c.name)).toContain('emoney-float');
    };

    beforeEach(async () => {
      stores = makeStores();
      core = await open();
      s = await seedStation(core, clock, [{ balance: 10_000 }, { balance: 500 }]);
      alice = await wallet(s.wallets[0]!.walletId);
      bob = await wallet(s.wallets[1]!.walletId);
      float = (await core.store.listAccounts({ kind: 'issuer-float', limit: 10 }))[0]!.id;
    });
    afterEach(async () => {
      await core.close();
      await stores.cleanup();
    });

    it('issues a signed token to the recipient, which collects it from the inbox and deposits it; balances and audit agree', async () => {
      const issued = await issue(alice, 1_250, bob);
      const token = issuedToken(issued);
      expect(token).toMatchObject({ amount: { minor: 1_250, currency: 'EUR' }, holder: bob.id, float, keyId: issuer.keyId, issuedAt: clock.now });
      expect(EmoneyToken.parse(token)).toEqual(token);
      expect(verifyEd25519(issuer.publicKey, emoneyTokenBytes(token), token.sig)).toBe(true);
      expect(await balanceOf(core, alice.account)).toBe(8_750);
      expect(await balanceOf(core, float)).toBe(1_250);
      expect(await core.store.emoneyInbox(bob.id, { limit: 10 })).toEqual([token]);
      expect(await core.store.emoneyInbox(alice.id, { limit: 10 })).toEqual([]);
      await expectAuditOk();

      clock.advance(1_000);
      const dep = await deposit(bob, [token]);
      expect(dep.answer).toEqual({ requestId: dep.answer.requestId, status: 'deposited', amount: { minor: 1_250, currency: 'EUR' }, serials: [token.serial] });
      expect(await balanceOf(core, bob.account)).toBe(1_750);
      expect(await balanceOf(core, float)).toBe(0);
      expect(await core.store.emoneyInbox(bob.id, { limit: 10 })).toEqual([]);
      const lines = await core.store.statement(bob.account, { limit: 5 });
      expect(lines[0]).toMatchObject({ kind: 'emoney-deposit', amount: 1_250, balanceAfter: 1_750, counterparty: float });
      expect((await core.store.statement(alice.account, { limit: 5 }))[0]).toMatchObject({ kind: 'emoney-issue', amount: -1_250, counterparty: float });
      await expectAuditOk();
    });

    it('after the issuer key is rotated, tokens signed by the retired key are still deposited; new ones carry the new key; a token naming a key the core does not keep is bad-signature', async () => {
      const before = issuedToken(await issue(alice, 300, bob));
      const forgotten = issuedToken(await issue(alice, 200, bob));
      const next = generateSigningKeyPair('issuer-emoney-next');
      const reopen = async (retired: { keyId: string; publicKey: string }[]) => {
        await core.close();
        core = await SettlementCore.open({
          store: stores.open('main'), issuerMasterKey, deviceKey, scheduler: false, clock: clock.read,
          ticketIssuer: { keyId: next.keyId, pair: next }, retiredIssuerKeys: retired,
        });
      };
      await reopen([]);
      expect((await deposit(bob, [forgotten])).answer).toMatchObject({ status: 'refused', reason: 'bad-signature' });
      await reopen([{ keyId: issuer.keyId, publicKey: issuer.publicKey }]);
      const after = issuedToken(await issue(alice, 100, bob));
      expect(after.keyId).toBe(next.keyId);
      expect((await deposit(bob, [before, after])).answer).toMatchObject({ status: 'deposited', amount: { minor: 400, currency: 'EUR' } });
      expect((await deposit(bob, [forgotten])).answer).toMatchObject({ status: 'deposited', amount: { minor: 200, currency: 'EUR' } });
      await expectAuditOk();
      // A key id names one key: the retired list may not reuse the current id, nor hold more than the limit.
      const tooMany = Array.from({ length: retiredIssuerKeysMax + 1 }, (_, i) => ({ keyId: `old-${i}`, publicKey: issuer.publicKey }));
      for (const retired of [[{ keyId: next.keyId, publicKey: issuer.publicKey }], tooMany]) {
        const other = stores.open('other');
        try {
          await expect(SettlementCore.open({ store: other, issuerMasterKey, deviceKey, scheduler: false, ticketIssuer: { keyId: next.keyId, pair: next }, retiredIssuerKeys: retired }))
            .rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
        } finally {
          await other.close();
        }
      }
    });

    it('pages the inbox by serial, bounded by the limit', async () => {
      const tokens: EmoneyToken[] = [];
      for (let i = 0; i < 5; i += 1) {
        clock.advance(1);
        tokens.push(issuedToken(await issue(alice, 10 + i, bob)));
      }
      const first = await core.store.emoneyInbox(bob.id, { limit: 2 });
      expect(first).toEqual(tokens.slice(0, 2));
      expect(await core.store.emoneyInbox(bob.id, { limit: 10, afterSerial: first[1]!.serial })).toEqual(tokens.slice(2));
      await deposit(bob, [tokens[2]!]);
      expect(await core.store.emoneyInbox(bob.id, { limit: 10 })).toEqual([tokens[0], tokens[1], tokens[3], tokens[4]]);
      expect(await core.store.emoneyOutstanding()).toEqual(new Map([[float, { value: 10 + 11 + 13 + 14, count: 4 }]]));
    });

    it('refuses a second deposit of a serial (double spend), and answers the first deposit again when it is resent', async () => {
      const token = issuedToken(await issue(alice, 300, bob));
      const first = await deposit(bob, [token]);
      const again = await deposit(bob, [token]);
      expect(again.answer).toEqual({ requestId: again.answer.requestId, status: 'refused', reason: 'already-spent', serial: token.serial });
      // Within one deposit too: the same serial twice.
      const fresh = issuedToken(await issue(alice, 5, bob));
      const twice = await deposit(bob, [fresh, fresh]);
      expect(twice.answer).toMatchObject({ status: 'refused', reason: 'duplicate-token', serial: fresh.serial });
      const resent = await deposit(bob, [token], first.answer.requestId);
      expect(resent.replay).toBe(true);
      expect(resent.json).toBe(first.json);
      expect(await balanceOf(core, bob.account)).toBe(800);
      expect(await core.store.emoneyInbox(bob.id, { limit: 10 })).toEqual([fresh]);
      await expectAuditOk();
    });

    it('refuses forged tokens: altered amount, another key, a made-up serial; nothing moves', async () => {
      const token = issuedToken(await issue(alice, 100, bob));
      const forger = generateSigningKeyPair(issuer.keyId);
      const reSign = (t: Omit<EmoneyToken, 'sig'>, pair: SigningKeyPair): EmoneyToken => ({ ...t, sig: signEd25519(pair, emoneyTokenBytes(t)) });
      const { sig: _sig, ...unsigned } = token;
      const forgeries: [EmoneyToken, string][] = [
        [{ ...token, amount: { minor: 10_000, currency: 'EUR' } }, 'bad-signature'],
        [reSign({ ...unsigned, amount: { minor: 10_000, currency: 'EUR' } }, forger), 'bad-signature'],
        [reSign({ ...unsigned, serial: uuidv7(clock.now) }, forger), 'bad-signature'],
        [{ ...token, keyId: 'another-key' }, 'bad-signature'],
        [{ ...token, sig: token.sig.replace(/^./, token.sig.startsWith('A') ? 'B' : 'A') }, 'bad-signature'],
        // Genuinely signed by the issuer, but never minted here (a leaked key would look like this): not in the ledger.
        [reSign({ ...unsigned, serial: uuidv7(clock.now + 5) }, issuer), 'unknown-token'],
      ];
      for (const [forged, reason] of forgeries) {
        const a = await deposit(bob, [forged]);
        expect(a.answer).toMatchObject({ status: 'refused', reason, serial: forged.serial });
      }
      expect(await balanceOf(core, bob.account)).toBe(500);
      expect(await balanceOf(core, float)).toBe(100);
      expect(await core.store.emoneyInbox(bob.id, { limit: 10 })).toEqual([token]);
      await expectAuditOk();
    });

    it('refuses a deposit by a wallet that is not the holder; the holder can still deposit', async () => {
      const token = issuedToken(await issue(alice, 200, bob));
      const stolen = await deposit(alice, [token]);
      expect(stolen.answer).toMatchObject({ status: 'refused', reason: 'wrong-holder', serial: token.serial });
      expect(await balanceOf(core, alice.account)).toBe(9_800);
      expect((await deposit(bob, [token])).answer.status).toBe('deposited');
      await expectAuditOk();
    });

    it('declines issuance without the funds and mints nothing; the same request later gets the same decline', async () => {
      const requestId = uuidv7(clock.now);
      const declined = await issue(bob, 501, alice, requestId);
      expect(declined.answer).toEqual({ requestId, status: 'declined', reason: 'insufficient-funds' });
      expect(await balanceOf(core, bob.account)).toBe(500);
      expect(await balanceOf(core, float)).toBe(0);
      expect(await core.store.emoneyInbox(alice.id, { limit: 10 })).toEqual([]);
      expect(await core.store.emoneyOutstanding()).toEqual(new Map());
      await core.fund({ account: bob.account, amount: 1_000, reference: 'top-up' });
      const again = await issue(bob, 501, alice, requestId);
      expect(again.replay).toBe(true);
      expect(again.json).toBe(declined.json);
      expect(await core.store.emoneyInbox(alice.id, { limit: 10 })).toEqual([]);
      await expectAuditOk();
    });

    it('declines with a coded reason: over the limit, another currency, unknown or blocked recipient', async () => {
      const unknown = uuidv7(clock.now);
      const cases: [Promise<EmoneyReply<EmoneyIssueAnswer>>, string][] = [
        [core.issueEmoney(alice, { requestId: uuidv7(clock.now), amount: { minor: 50_001, currency: 'EUR' }, recipient: bob.id }), 'over-limit'],
        [core.issueEmoney(alice, { requestId: uuidv7(clock.now), amount: { minor: 100, currency: 'USD' }, recipient: bob.id }), 'emoney-unavailable'],
        [core.issueEmoney(alice, { requestId: uuidv7(clock.now), amount: { minor: 100, currency: 'EUR' }, recipient: unknown }), 'unknown-wallet'],
      ];
      for (const [reply, reason] of cases) expect(answered(await reply).answer).toMatchObject({ status: 'declined', reason });
      await core.setWalletStatus(bob.id, 'blocked');
      expect((await issue(alice, 100, bob)).answer).toMatchObject({ status: 'declined', reason: 'wallet-not-active' });
      await core.setAccountStatus(alice.account, 'frozen');
      expect((await issue(alice, 100, alice)).answer).toMatchObject({ status: 'declined', reason: 'account-not-active' });
      expect(await balanceOf(core, float)).toBe(0);
      await expectAuditOk();
    });

    it('answers a resent issuance with the same token, across a restart; the same id with other content or from another wallet is a mismatch', async () => {
      const requestId = uuidv7(clock.now);
      const first = await issue(alice, 700, bob, requestId);
      clock.advance(5_000);
      await core.close();
      core = await open();
      const again = await issue(alice, 700, bob, requestId);
      expect(again.replay).toBe(true);
      expect(again.json).toBe(first.json);
      expect(await core.issueEmoney(alice, { requestId, amount: { minor: 701, currency: 'EUR' }, recipient: bob.id })).toEqual({ kind: 'mismatch' });
      expect(await core.issueEmoney(bob, { requestId, amount: { minor: 700, currency: 'EUR' }, recipient: bob.id })).toEqual({ kind: 'mismatch' });
      expect(await core.depositEmoney(bob, { requestId, tokens: [issuedToken(first)] })).toEqual({ kind: 'mismatch' });
      expect(await balanceOf(core, alice.account)).toBe(9_300);
      expect((await core.store.emoneyInbox(bob.id, { limit: 10 })).length).toBe(1);
      await expectAuditOk();
    });

    it('without an issuer key, declines issuance and refuses deposits: emoney-unavailable', async () => {
      const token = issuedToken(await issue(alice, 100, bob));
      await core.close();
      core = await open(false);
      expect((await issue(alice, 100, bob)).answer).toMatchObject({ status: 'declined', reason: 'emoney-unavailable' });
      expect((await deposit(bob, [token])).answer).toMatchObject({ status: 'refused', reason: 'emoney-unavailable' });
      await expectAuditOk();
    });

    it('refuses bodies out of their schema with a coded error before any transaction', async () => {
      await expect(core.issueEmoney(alice, { requestId: 'nope', amount: { minor: 1, currency: 'EUR' }, recipient: bob.id })).rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
      await expect(core.depositEmoney(bob, { requestId: uuidv7(), tokens: [] })).rejects.toMatchObject({ code: 'TS_ERR_INVALID_ARGUMENT' });
    });

    it('the store refuses to spend a token twice or mint a serial twice (asserted on its side of the disk)', async () => {
      const token = issuedToken(await issue(alice, 100, bob));
      const none = { journalInserts: [], journalUpdates: [], transfers: [], balances: [] };
      const spend = { serial: token.serial, depositRequest: uuidv7(), spentAt: clock.now };
      await core.store.transaction((tx) => tx.apply({ ...none, emoney: { requests: [], mints: [], spends: [spend] } }));
      await expect(core.store.transaction((tx) => tx.apply({ ...none, emoney: { requests: [], mints: [], spends: [spend] } }))).rejects.toBeInstanceOf(InvariantError);
      await expect(core.store.transaction((tx) => tx.apply({ ...none, emoney: { requests: [], mints: [{ token, issueRequest: uuidv7(), spentAt: null, depositRequest: null }], spends: [] } }))).rejects.toThrow();
      expect((await core.store.transaction((tx) => tx.getEmoneyTokens([token.serial]))).get(token.serial)).toMatchObject({ spentAt: clock.now, depositRequest: spend.depositRequest });
      // A token spent behind the core's back leaves the float above the unspent tokens: the audit says so.
      const report = await core.audit();
      const check = report.checks.find((c) => c.name === 'emoney-float')!;
      expect(check.ok).toBe(false);
      expect(check.problems[0]).toMatch(new RegExp(`${float}: float balance 100, 0 unspent tokens worth 0`));
    });

    it('keeps the float equal to the unspent tokens over random issues and deposits (fast-check)', async () => {
      const wallets = [alice, bob];
      await fc.assert(fc.asyncProperty(
        fc.array(fc.record({ issue: fc.boolean(), from: fc.nat(1), to: fc.nat(1), amount: fc.integer({ min: 1, max: 700 }), pick: fc.nat(20), byHolder: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        async (ops) => {
          for (const op of ops) {
            clock.advance(1);
            if (op.issue) {
              await issue(wallets[op.from]!, op.amount, wallets[op.to]!);
              continue;
            }
            const holder = wallets[op.to]!;
            const held = await core.store.emoneyInbox(holder.id, { limit: 32 });
            if (held.length === 0) continue;
            const token = held[op.pick % held.length]!;
            const a = await deposit(op.byHolder ? holder : wallets[1 - op.to]!, [token]);
            expect(a.answer.status).toBe(op.byHolder ? 'deposited' : 'refused');
          }
          const outstanding = [...(await core.store.emoneyOutstanding()).values()].reduce((sum, o) => sum + o.value, 0);
          expect(await balanceOf(core, float)).toBe(outstanding);
          const report = await core.audit();
          expect(report.ok).toBe(true);
        },
      ), { numRuns: 15, seed: 34 });
    });
  });
}

