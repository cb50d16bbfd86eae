/**
 * Card sales in the ledger (claim 36, issue 7) on the sharded store: two
 * SQLite servers, the merchant on server 1. The card receivable is a system
 * account with a copy on every server, so a capture lands whole on the
 * merchant's server with its journal entry, and no routing is card-specific.
 */
import { expect } from 'vitest';
import type { ShardedLedgerStore } from '../../../settlement-core/store/sharded/index.ts';
import { tempDir } from '../fixtures.ts';
import { openSqliteSharded, seedShardedStation } from '../sharded/helpers.ts';
import { cardLedgerSuite } from './ledger-capture-suite.ts';

cardLedgerSuite('the sharded store (2 SQLite servers, merchant on server 1)', () => {
  const t = tempDir('tapsettle-card-ledger-sharded-');
  let store: ShardedLedgerStore;
  return {
    open: () => (store = openSqliteSharded(t.dir, 2)),
    seed: (core, clock) => seedShardedStation(core, clock, [1_000], 500),
    cleanup: () => Promise.resolve(t.cleanup()),
    extra: async (_core, s) => {
      // The capture landed on the merchant's server, with the entry: server 1 holds both; server 0 neither.
      expect(store.directory.serverFor(s.merchant)).toBe(1);
      const [zero, one] = [store.servers[0]!, store.servers[1]!];
      expect((await one.statement(s.merchant, { limit: 5 })).map((l) => l.kind)).toEqual(['card-capture']);
      expect(await one.scanJournal({ deviceId: 'card:capture', requestId: '' }, 5)).toHaveLength(1);
      expect(await zero.scanJournal({ deviceId: 'card:capture', requestId: '' }, 5)).toHaveLength(0);
      const receivable = (await one.listAccounts({ kind: 'card-receivable', limit: 5 }))[0]!;
      expect([receivable.balance, (await zero.getAccount(receivable.id))?.balance]).toEqual([-1_250, 0]);
    },
  };
});


cardLedgerSuite('the sharded store (2 SQLite servers, a hot merchant with its main file on server 1)', () => {
  const t = tempDir('tapsettle-card-ledger-hot-');
  return {
    open: () => openSqliteSharded(t.dir, 2, { hot: ['500-0000001'] }),
    seed: async (core, clock) => {
      const s = await seedShardedStation(core, clock, [1_000], 500);
      expect(s.merchant).toBe('500-0000001');
      return s;
    },
    cleanup: () => Promise.resolve(t.cleanup()),
  };
});
