/**
 * Tickets on the sharded store (claims 15–16): a ticket is kept with the
 * settlement that paid for it, on the payer's server, so the approval and
 * the ticket commit together — a crash between servers' commits cannot
 * leave an approved, ticketed settlement whose ticket the wallet cannot
 * fetch again. A wallet's tickets are merged over the servers, newest first.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateSigningKeyPair, uuidv7 } from '../../../protocol/index.ts';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import type { ShardedAuditReport, ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { Clock, makeRequest, settleOk, tempDir } from '../fixtures.ts';
import type { Station, TestWallet } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from './helpers.ts';

const issuer = generateSigningKeyPair('issuer-sharded-tickets');
const spec = { validitySec: 3_600, uses: 1 };
let t: ReturnType<typeof tempDir>;
let clock: Clock;
let store: ShardedLedgerStore;
let core: SettlementCore;
let s: Station;
/** On server 1 (branch 100). */
let w: TestWallet;
const faults: { afterServerCommit?: (server: number) => void } = {};

async function open(): Promise<void> {
  store = openSqliteSharded(t.dir, 3, { faults: { afterServerCommit: (x) => faults.afterServerCommit?.(x) } });
  core = await openShardedCore(store, { clock: clock.read, ticketIssuer: { keyId: issuer.keyId, pair: issuer } });
  if (s) s = { ...s, core };
}

beforeEach(async () => {
  t = tempDir('tapsettle-sharded-tickets-');
  clock = new Clock();
  await open();
  s = await seedShardedStation(core, clock, [10_000, 10_000]);
  w = s.wallets[1]!;
  expect(store.directory.serverFor(w.account)).toBe(1);
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

it('keeps a ticket with its settlement on the payer\'s server, and through a crash between the servers\' commits', async () => {
  const req = makeRequest(s, w, { amount: 300, ticket: spec });
  let crashed = false;
  faults.afterServerCommit = (server) => {
    if (server === 1 && !crashed) {
      crashed = true;
      throw new Error('crash: server 1 committed, server 0 did not');
    }
  };
  await expect(core.settle(req.deviceId, JSON.stringify(req))).rejects.toThrow('crash');
  delete faults.afterServerCommit;
  await core.close();
  await open();
  const [kept] = await core.store.walletTickets(w.walletId, 5);
  expect(kept).toMatchObject({ deviceId: s.device, requestId: req.requestId });
  expect(await store.servers[1]!.walletTickets(w.walletId, 5)).toEqual([kept]);
  const again = await settleOk(s, req);
  expect(again.replay).toBe(true);
  expect(again.result.ticket).toEqual(kept!.ticket);
  await core.drain();
  const report = (await core.audit()) as ShardedAuditReport;
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
});

it('merges a wallet\'s tickets over the servers, newest first, up to the limit', async () => {
  // A ticket kept on server 0 before tickets moved with their settlements.
  clock.advance(1);
  const old = { ticket: { ticketId: uuidv7(clock.now), walletId: w.walletId, product: 'old', validFrom: clock.now, validUntil: clock.now + 1, uses: 1, keyId: issuer.keyId, sig: 'A'.repeat(86) }, deviceId: s.device, requestId: uuidv7(clock.now) };
  await store.servers[0]!.transaction((tx) => tx.apply({ journalInserts: [], journalUpdates: [], transfers: [], balances: [], tickets: [old] }));
  const products: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    clock.advance(1);
    await settleOk(s, makeRequest(s, w, { amount: 10, article: `ride-${i}`, ticket: spec }));
    products.unshift(`ride-${i}`);
  }
  expect((await core.store.walletTickets(w.walletId, 10)).map((x) => x.ticket.product)).toEqual([...products, 'old']);
  expect((await core.store.walletTickets(w.walletId, 2)).map((x) => x.ticket.product)).toEqual(products.slice(0, 2));
  expect(await core.store.walletTickets(s.wallets[0]!.walletId, 10)).toEqual([]);
});
