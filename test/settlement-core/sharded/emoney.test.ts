/**
 * E-money across servers (claims 34–35 on the sharded store, docs/ledger.md
 * §13): customers on servers 0, 1 and 2; the tokens and the float's money on
 * server 0. Issuance from a payer on another server (a mint leg: the
 * request and the parked token with the payer, the live token with the
 * float's credit), deposit by a holder on another server (a payout leg),
 * crashes between the legs and between servers' commits, recovery, double
 * spends, forgeries, wrong holders, resends byte for byte.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emoneyTokenBytes, signEd25519, uuidv7 } from '../../../protocol/index.ts';
import type { EmoneyToken } from '../../../protocol/index.ts';
import type { JournalEntry, SettlementCore, Wallet } from '../../../settlement-core/index.ts';
import type { EmoneyIssueAnswer, EmoneyReply } from '../../../settlement-core/emoney/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { issuer } from '../emoney/emoney-suite.ts';
import { Clock, balanceOf, tempDir } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

let t: ReturnType<typeof tempDir>;
let clock: Clock;
let store: ShardedLedgerStore;
let core: SettlementCore;
/** On servers 0, 1 and 2 (customerBranches 20, 100, 500). */
let w: [Wallet, Wallet, Wallet];
let float: string;
const faults: { beforeCredits?: () => void; afterServerCommit?: (server: number) => void } = {};

async function open(): Promise<void> {
  store = openSqliteSharded(t.dir, 3, { faults: { beforeCredits: () => faults.beforeCredits?.(), afterServerCommit: (x) => faults.afterServerCommit?.(x) } });
  core = await openShardedCore(store, { clock: clock.read, ticketIssuer: { keyId: issuer.keyId, pair: issuer } });
}

/** The process dies: its memory is gone, the next start recovers from the servers alone. */
async function crashAndRestart(): Promise<void> {
  delete faults.beforeCredits;
  delete faults.afterServerCommit;
  await core.close().catch(() => undefined);
  await open();
}

const crashOnce = (what: string) => () => {
  delete faults.beforeCredits;
  delete faults.afterServerCommit;
  throw new Error(`crash: ${what}`);
};

type Answer<A> = Extract<EmoneyReply<A>, { kind: 'answer' }>;
function answered<A>(r: EmoneyReply<A>): Answer<A> {
  if (r.kind !== 'answer') throw new Error('expected an answer, got a mismatch');
  return r;
}
const issue = async (from: Wallet, amount: number, to: Wallet, requestId = uuidv7(clock.now)) =>
  answered(await core.issueEmoney(from, { requestId, amount: { minor: amount, currency: 'EUR' }, recipient: to.id }));
const deposit = async (by: Wallet, tokens: EmoneyToken[], requestId = uuidv7(clock.now)) => answered(await core.depositEmoney(by, { requestId, tokens }));
function tokenOf(a: Answer<EmoneyIssueAnswer>): EmoneyToken {
  if (a.answer.status !== 'issued') throw new Error(`declined: ${a.answer.reason}`);
  return a.answer.tokens[0]!;
}

/** Where a token's rows are: server → spent (with what) or unspent. */
async function tokenRows(serial: string): Promise<(string | null | undefined)[]> {
  return Promise.all(store.servers.map(async (s) => {
    const r = (await s.transaction((tx) => tx.getEmoneyTokens([serial]))).get(serial);
    return r === undefined ? undefined : r.depositRequest;
  }));
}
const requestServers = async (requestId: string): Promise<number[]> =>
  (await Promise.all(store.servers.map((s) => s.transaction((tx) => tx.getEmoneyRequest(requestId))))).flatMap((r, i) => (r ? [i] : []));
const floatCopies = async (): Promise<number[]> => Promise.all(store.servers.map(async (s) => (await s.getAccount(float))!.balance));

async function auditOk(): Promise<ShardedAuditReport> {
  const report = (await core.audit()) as ShardedAuditReport;
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['emoney-float', 'emoney-placement']));
  return report;
}

beforeEach(async () => {
  t = tempDir('tapsettle-sharded-emoney-');
  clock = new Clock();
  await open();
  const s = await seedShardedStation(core, clock, [1_000, 1_000, 1_000]);
  w = (await Promise.all(s.wallets.map(async (x) => (await core.store.getWallet(x.walletId))!))) as [Wallet, Wallet, Wallet];
  float = (await core.store.listAccounts({ kind: 'issuer-float', limit: 1 }))[0]!.id;
  expect(w.map((x) => store.directory.serverFor(x.account))).toEqual([0, 1, 2]);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

describe('e-money between servers', () => {
  it('issues from a payer on server 1 to a holder on server 2: request and parked token with the payer, live token and the money on server 0', async () => {
    const a = await issue(w[1], 400, w[2]);
    const token = tokenOf(a);
    expect(await balanceOf(core, w[1].account)).toBe(600);
    expect(await floatCopies()).toEqual([400, 0, 0]);
    const rows = await tokenRows(token.serial);
    expect(rows[0]).toBeNull(); // live, unspent, on the e-money server
    expect(rows[1]).toMatch(/^tapsettle-sharded-leg-between-servers\/mint\/000-\d{7}\//); // parked with the payer under its leg
    expect(rows[2]).toBeUndefined();
    expect(await requestServers(a.answer.requestId)).toEqual([1]);
    expect(await core.store.emoneyInbox(w[2].id, { limit: 5 })).toEqual([token]);
    expect(await core.store.emoneyOutstanding()).toEqual(new Map([[float, { value: 400, count: 1 }]]));
    expect((await core.store.statement(w[1].account, { limit: 1 }))[0]).toMatchObject({ kind: 'emoney-issue', amount: -400, counterparty: float });
    expect((await auditOk()).inFlight.count).toBe(0);

    clock.advance(1_000);
    const d = await deposit(w[2], [token]);
    expect(d.answer).toMatchObject({ status: 'deposited', amount: { minor: 400, currency: 'EUR' } });
    expect(await balanceOf(core, w[2].account)).toBe(1_400);
    expect(await floatCopies()).toEqual([0, 0, 0]);
    expect((await tokenRows(token.serial))[0]).toBe(d.answer.requestId);
    expect(await requestServers(d.answer.requestId)).toEqual([0]);
    expect((await core.store.statement(w[2].account, { limit: 1 }))[0]).toMatchObject({ kind: 'emoney-deposit', amount: 400, counterparty: float });
    await auditOk();
  });

  it('issues on server 0 without a leg, and a decline keeps its request on server 0', async () => {
    const token = tokenOf(await issue(w[0], 250, w[1]));
    expect(await tokenRows(token.serial)).toEqual([null, undefined, undefined]);
    const declined = await issue(w[2], 5_000, w[0]);
    expect(declined.answer).toMatchObject({ status: 'declined', reason: 'insufficient-funds' });
    expect(await requestServers(declined.answer.requestId)).toEqual([0]);
    expect((await deposit(w[1], [token])).answer.status).toBe('deposited');
    expect(await balanceOf(core, w[1].account)).toBe(1_250);
    await auditOk();
  });

  it('recovers a mint leg cut between the payer\'s send and the float\'s credit: the token goes live on restart, the resend is byte for byte', async () => {
    const requestId = uuidv7(clock.now);
    faults.beforeCredits = crashOnce('the mint leg\'s credit never delivered');
    await expect(core.issueEmoney(w[1], { requestId, amount: { minor: 300, currency: 'EUR' }, recipient: w[2].id })).rejects.toThrow('crash');
    // The payer's server committed: debit, request, parked token. Server 0 has neither the money nor the token.
    expect(await balanceOf(core, w[1].account)).toBe(700);
    expect(await floatCopies()).toEqual([0, 0, 0]);
    expect(await core.store.emoneyInbox(w[2].id, { limit: 5 })).toEqual([]);
    const cut = (await store.audit());
    expect(cut.inFlight.count).toBe(1);
    expect(cut.checks.filter((c) => !c.ok)).toEqual([]); // float = unspent tokens holds with the leg in flight

    await crashAndRestart();
    expect(await floatCopies()).toEqual([300, 0, 0]);
    const resent = await issue(w[1], 300, w[2], requestId);
    expect(resent.replay).toBe(true);
    const token = tokenOf(resent);
    expect(await core.store.emoneyInbox(w[2].id, { limit: 5 })).toEqual([token]);
    expect(await balanceOf(core, w[1].account)).toBe(700); // charged once
    expect((await auditOk()).inFlight.count).toBe(0);
    expect((await deposit(w[2], [token])).answer.status).toBe('deposited');
    await auditOk();
  });

  it('recovers when the payer\'s server committed and server 0 did not (a crash between the servers\' commits)', async () => {
    const requestId = uuidv7(clock.now);
    faults.afterServerCommit = (server) => {
      if (server === 1) crashOnce('server 1 committed, server 0 did not')();
    };
    await expect(core.issueEmoney(w[1], { requestId, amount: { minor: 120, currency: 'EUR' }, recipient: w[1].id })).rejects.toThrow('crash');
    await crashAndRestart();
    const resent = await issue(w[1], 120, w[1], requestId);
    expect(resent.replay).toBe(true);
    expect(await core.store.emoneyInbox(w[1].id, { limit: 5 })).toEqual([tokenOf(resent)]);
    expect(await balanceOf(core, w[1].account)).toBe(880);
    await auditOk();
  });

  it('recovers a payout cut before the holder\'s credit: spent once, paid once, the resend byte for byte, a second deposit refused', async () => {
    const token = tokenOf(await issue(w[0], 90, w[2]));
    const requestId = uuidv7(clock.now);
    faults.beforeCredits = crashOnce('the payout never delivered');
    await expect(core.depositEmoney(w[2], { requestId, tokens: [token] })).rejects.toThrow('crash');
    expect(await balanceOf(core, w[2].account)).toBe(1_000);
    expect((await tokenRows(token.serial))[0]).toBe(requestId);
    expect((await store.audit()).inFlight.count).toBe(1);

    await crashAndRestart();
    expect(await balanceOf(core, w[2].account)).toBe(1_090);
    const first = await deposit(w[2], [token], requestId);
    expect(first.replay).toBe(true);
    const again = await deposit(w[2], [token], requestId);
    expect(again.json).toBe(first.json);
    expect((await deposit(w[2], [token])).answer).toMatchObject({ status: 'refused', reason: 'already-spent', serial: token.serial });
    expect(await balanceOf(core, w[2].account)).toBe(1_090);
    expect((await auditOk()).inFlight.count).toBe(0);
  });

  it('refuses double spends, forgeries and a wallet that is not the holder, whatever server each lives on; nothing moves', async () => {
    const token = tokenOf(await issue(w[1], 200, w[2]));
    const { sig: _sig, ...unsigned } = token;
    const refusals: [Wallet, EmoneyToken, string][] = [
      [w[0], token, 'wrong-holder'],
      [w[1], token, 'wrong-holder'],
      [w[2], { ...token, amount: { minor: 20_000, currency: 'EUR' } }, 'bad-signature'],
      [w[2], { ...unsigned, serial: uuidv7(clock.now + 9), sig: signEd25519(issuer, emoneyTokenBytes({ ...unsigned, serial: uuidv7(clock.now + 9) })) }, 'bad-signature'],
    ];
    for (const [by, tk, reason] of refusals) expect((await deposit(by, [tk])).answer).toMatchObject({ status: 'refused', reason });
    const neverMinted = { ...unsigned, serial: uuidv7(clock.now + 10) };
    expect((await deposit(w[2], [{ ...neverMinted, sig: signEd25519(issuer, emoneyTokenBytes(neverMinted)) }])).answer).toMatchObject({ status: 'refused', reason: 'unknown-token' });
    // The parked copy on the payer's server is not a token anybody can spend.
    expect((await deposit(w[2], [token])).answer.status).toBe('deposited');
    expect((await deposit(w[2], [token])).answer).toMatchObject({ status: 'refused', reason: 'already-spent' });
    expect(await balanceOf(core, w[0].account)).toBe(1_000);
    expect(await balanceOf(core, w[1].account)).toBe(800);
    expect(await balanceOf(core, w[2].account)).toBe(1_200);
    await auditOk();
  });

  it('answers a resent issuance byte for byte across a restart; other content under the same id is a mismatch', async () => {
    const requestId = uuidv7(clock.now);
    const first = await issue(w[2], 310, w[0], requestId);
    await crashAndRestart();
    const again = await issue(w[2], 310, w[0], requestId);
    expect(again.json).toBe(first.json);
    expect(await core.issueEmoney(w[2], { requestId, amount: { minor: 311, currency: 'EUR' }, recipient: w[0].id })).toEqual({ kind: 'mismatch' });
    expect(await core.depositEmoney(w[0], { requestId, tokens: [tokenOf(first)] })).toEqual({ kind: 'mismatch' });
    expect(await balanceOf(core, w[2].account)).toBe(690);
    await auditOk();
  });

  it('routes any write set carrying e-money: a settlement that buys a token (journal entry, withdraw, deposit into the float, mint) from a payer on server 1', async () => {
    const [requestId, at] = [uuidv7(clock.now), clock.now];
    const unsigned = { serial: uuidv7(at), amount: { minor: 150, currency: 'EUR' }, holder: w[1].id, issuedAt: at, float, keyId: issuer.keyId };
    const token: EmoneyToken = { ...unsigned, sig: signEd25519(issuer, emoneyTokenBytes(unsigned)) };
    const key = { journalDeviceId: 'kiosk-1', journalRequestId: requestId };
    const move = (kind: 'withdraw' | 'deposit', from: string, to: string) => ({ kind, from, to, amount: 150, currency: 'EUR', fromBalanceAfter: 0, toBalanceAfter: 0, ...key, reference: null, at });
    const entry: JournalEntry = {
      seq: null, deviceId: 'kiosk-1', requestId, fingerprint: 'f'.repeat(64), state: 'deposited', reason: null, walletId: w[1].id, counter: 1, payer: w[1].account, merchant: float,
      article: 'emoney', amount: 150, currency: 'EUR', depositNotBefore: null, awaitingOutcome: false, dueAt: null, outcome: null, outcomeRequestId: null,
      requestJson: '{}', resultJson: JSON.stringify({ emoney: token }), receivedAt: at, updatedAt: at,
    };
    faults.beforeCredits = crashOnce('the mint leg of a settlement never delivered');
    await expect(store.transaction(async (tx) => {
      await tx.bumpEpoch();
      await tx.getJournalEntries([{ deviceId: 'kiosk-1', requestId }]);
      await tx.apply({
        journalInserts: [entry], journalUpdates: [], transfers: [move('withdraw', w[1].account, '000-0000002'), move('deposit', '000-0000002', float)],
        balances: [{ id: w[1].account, before: 1_000, after: 850 }, { id: float, before: 0, after: 150 }],
        emoney: { requests: [], mints: [{ token, issueRequest: requestId, spentAt: null, depositRequest: null }], spends: [] },
      });
    })).rejects.toThrow('crash');
    expect((await store.servers[1]!.getJournalEntry({ deviceId: 'kiosk-1', requestId }))?.state).toBe('deposited');
    expect(await tokenRows(token.serial)).toEqual([undefined, expect.stringMatching(/\/mint\//), undefined]);
    expect((await store.audit()).checks.filter((c) => !c.ok)).toEqual([]);

    await crashAndRestart();
    expect(await floatCopies()).toEqual([150, 0, 0]);
    expect(await core.store.emoneyInbox(w[1].id, { limit: 5 })).toEqual([token]);
    expect((await deposit(w[1], [token])).answer.status).toBe('deposited');
    expect(await balanceOf(core, w[1].account)).toBe(1_000);
    await auditOk();
  });

  it('the global audit catches e-money out of place: a live token off the e-money server, float money on another copy', async () => {
    const token = tokenOf(await issue(w[1], 70, w[2]));
    const stray = { token: { ...token, serial: uuidv7(clock.now + 1) }, issueRequest: uuidv7(clock.now + 1), spentAt: null, depositRequest: null };
    await store.servers[2]!.transaction((tx) => tx.apply({ journalInserts: [], journalUpdates: [], transfers: [], balances: [], emoney: { requests: [], mints: [stray], spends: [] } }));
    const report = await store.audit();
    const failed = new Map(report.checks.filter((c) => !c.ok).map((c) => [c.name, c.problems]));
    expect([...failed.keys()].sort()).toEqual(['emoney-float', 'emoney-placement']);
    expect(failed.get('emoney-placement')![0]).toMatch(/^server 2: 1 unspent tokens of 000-\d{7} worth 70, outside the e-money server 0$/);
    expect(failed.get('emoney-float')![0]).toMatch(/float balance 70, 2 unspent tokens worth 140/);
  });

  it('keeps float = unspent tokens and every leg delivered over random issues, deposits and lost credits (fast-check)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ issue: fc.boolean(), from: fc.nat(2), to: fc.nat(2), amount: fc.integer({ min: 1, max: 60 }), pick: fc.nat(20), drop: fc.boolean() }), { minLength: 1, maxLength: 10 }),
      async (ops) => {
        for (const op of ops) {
          clock.advance(1);
          if (op.drop) faults.beforeCredits = crashOnce('credits lost');
          if (op.issue) {
            await core.issueEmoney(w[op.from]!, { requestId: uuidv7(clock.now), amount: { minor: op.amount, currency: 'EUR' }, recipient: w[op.to]!.id }).catch(() => undefined);
          } else {
            const held = await core.store.emoneyInbox(w[op.to]!.id, { limit: 32 });
            if (held.length > 0) await core.depositEmoney(w[op.to]!, { requestId: uuidv7(clock.now), tokens: [held[op.pick % held.length]!] }).catch(() => undefined);
          }
          delete faults.beforeCredits;
          // A lost credit is owed: the next unit of work delivers it first. The audit sees it in flight, or delivered.
          const report = await store.audit();
          expect(report.checks.filter((c) => !c.ok)).toEqual([]);
        }
        await store.reconcile();
        const outstanding = [...(await core.store.emoneyOutstanding()).values()].reduce((sum, o) => sum + o.value, 0);
        expect(await balanceOf(core, float)).toBe(outstanding);
        expect((await auditOk()).inFlight.count).toBe(0);
      },
    ), { numRuns: 12, seed: 35 });
  });
});
