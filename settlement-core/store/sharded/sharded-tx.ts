/**
 * The LedgerTx of the sharded store: the engine's reads and writes inside one
 * unit of work, routed to the servers that hold the data (plan.ts says how).
 * Registry data — devices and wallets — lives on server 0; a user's data
 * file on its directory server; system accounts on every server; e-money
 * tokens on the e-money server (emoney.ts), e-money requests where their
 * decision's money moved.
 */
import { invariant } from '../../errors.ts';
import { journalKeyString } from '../../model.ts';
import type { Account, AccountStatus, CustomerAttributes, Device, EmoneyRequestRecord, EmoneyTokenRecord, JournalEntry, JournalKey, Transfer, Wallet } from '../../model.ts';
import type { CounterKey, LedgerTx, WriteSet } from '../ledger-store.ts';
import type { ShardContext } from './context.ts';
import { noteSystemAccount, placementOf } from './context.ts';
import { emoneyServer } from './emoney.ts';
import { ShardedStoreError } from './errors.ts';
import { globalId, isPositionAccount, isSystemAccount } from './ids.ts';
import { copyOf, logicalAccount, mergeAccounts, positionsFor } from './logical.ts';
import { planWrites } from './plan.ts';
import type { Credit } from './plan.ts';
import type { Unit } from './unit.ts';

const allServers = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export class ShardedTx implements LedgerTx {
  /** Cross-server credits this unit's writes owe, delivered after it commits. */
  readonly credits: Credit[] = [];
  /** Keys looked up in this unit (so an insert of one is known not to exist elsewhere). */
  private readonly lookedUp = new Set<string>();
  /** E-money request ids looked up in this unit, likewise. */
  private readonly requestsLookedUp = new Set<string>();
  private readonly placement;

  constructor(private readonly ctx: ShardContext, private readonly unit: Unit) {
    this.placement = placementOf(ctx);
  }

  private get n(): number {
    return this.ctx.servers.length;
  }

  /** Runs `fn` on each listed server's unit of work, at once. */
  private each<T>(servers: readonly number[], fn: (tx: LedgerTx, server: number) => Promise<T>): Promise<T[]> {
    return Promise.all(servers.map(async (s) => fn(await this.unit.tx(s), s)));
  }

  async getAccounts(ids: readonly string[]): Promise<Map<string, Account>> {
    const p = this.placement;
    const byServer = new Map<number, string[]>();
    const everywhere: string[] = [];
    for (const id of ids) {
      if (isPositionAccount(id)) continue;
      if (p.isEverywhere(id)) { everywhere.push(id); continue; }
      const s = p.homeOf(id);
      if (s === null) continue;
      if (!byServer.has(s)) byServer.set(s, []);
      byServer.get(s)!.push(id);
    }
    const out = new Map<string, Account>();
    await this.each([...byServer.keys()], async (tx, s) => {
      for (const [id, a] of await tx.getAccounts(byServer.get(s)!)) out.set(id, a);
    });
    if (everywhere.length > 0) {
      const copies = await this.each(allServers(this.n), (tx) => tx.getAccounts(everywhere));
      for (const id of everywhere) {
        const a = logicalAccount(copies.map((m) => m.get(id)), p.homeOf(id) ?? 0);
        if (a) out.set(id, a);
        if (a) noteSystemAccount(this.ctx, a);
      }
    }
    return out;
  }

  async getDevices(ids: readonly string[]): Promise<Map<string, Device>> {
    return (await this.unit.tx(0)).getDevices(ids);
  }

  async getWallets(ids: readonly string[]): Promise<Map<string, Wallet>> {
    const wallets = await (await this.unit.tx(0)).getWallets(ids);
    for (const w of wallets.values()) this.ctx.walletAccounts.set(w.id, w.account);
    return wallets;
  }

  async getJournalEntries(keys: readonly JournalKey[]): Promise<Map<string, JournalEntry>> {
    for (const k of keys) this.lookedUp.add(journalKeyString(k));
    const found = await this.each(allServers(this.n), (tx) => tx.getJournalEntries(keys));
    const out = new Map<string, JournalEntry>();
    found.forEach((entries, s) => {
      for (const [k, e] of entries) {
        invariant(!out.has(k), () => `journal key ${e.deviceId}/${e.requestId} is on two servers`);
        this.ctx.entryServers.set(k, s);
        out.set(k, { ...e, seq: e.seq === null ? null : globalId(e.seq, s) });
      }
    });
    return out;
  }

  async countersUsed(keys: readonly CounterKey[]): Promise<Set<string>> {
    const unknown = keys.filter((k) => !this.ctx.walletAccounts.has(k.walletId)).map((k) => k.walletId);
    if (unknown.length > 0) await this.getWallets([...new Set(unknown)]);
    const byServer = new Map<number, CounterKey[]>();
    for (const k of keys) {
      const account = this.ctx.walletAccounts.get(k.walletId);
      const home = account === undefined ? null : this.placement.homeOf(account);
      // A wallet the registry does not know has no journalled counters, but look everywhere rather than assume.
      // Server 0 too: a declined offline debt is journalled there, with its wallet's block (plan.ts); and the servers a moved account left.
      for (const s of home === null ? allServers(this.n) : [...new Set([home, 0, ...this.ctx.directory.formerServers(account!)])]) {
        if (!byServer.has(s)) byServer.set(s, []);
        byServer.get(s)!.push(k);
      }
    }
    const out = new Set<string>();
    await this.each([...byServer.keys()], async (tx, s) => {
      for (const used of await tx.countersUsed(byServer.get(s)!)) out.add(used);
    });
    return out;
  }

  async transferByReference(reference: string): Promise<Transfer | null> {
    const found = await this.each(allServers(this.n), (tx) => tx.transferByReference(reference));
    const s = found.findIndex((t) => t !== null);
    return s < 0 ? null : { ...found[s]!, id: globalId(found[s]!.id, s) };
  }

  async findAccounts(kind: Account['kind'], currency: string): Promise<Account[]> {
    const rows = await this.each(allServers(this.n), (tx) => tx.findAccounts(kind, currency));
    const found = mergeAccounts(rows, this.placement.isEverywhere, this.placement.homeOf);
    for (const a of found) noteSystemAccount(this.ctx, a);
    return found;
  }

  async maxAccountNumber(branch: number): Promise<number> {
    if (branch === 0) {
      // Position accounts use numbers from 9,000,000 on branch 000; the engine allocates below them.
      let max = -1;
      for (const a of await this.ctx.servers[0]!.listAccounts({ limit: 10_000 })) {
        if (isSystemAccount(a.id)) max = Math.max(max, Number(a.id.slice(4)));
      }
      return max;
    }
    return Math.max(...await this.each(allServers(this.n), (tx) => tx.maxAccountNumber(branch)));
  }

  async apply(writes: WriteSet): Promise<void> {
    invariant(this.credits.length === 0, 'a unit of work that owes cross-server credits applies no further writes');
    await this.learnSystemAccounts(writes);
    for (const r of writes.emoney?.requests ?? []) {
      if (!this.requestsLookedUp.has(r.requestId)) invariant((await this.getEmoneyRequest(r.requestId)) === null, () => `e-money request ${r.requestId} inserted twice`);
    }
    const entryServers = new Map<string, number>();
    const unknown: JournalKey[] = [];
    const need = (k: JournalKey) => {
      const ks = journalKeyString(k);
      const s = this.ctx.entryServers.get(ks);
      if (s !== undefined) entryServers.set(ks, s);
      else if (!entryServers.has(ks)) unknown.push(k);
    };
    const inserted = new Set(writes.journalInserts.map((e) => journalKeyString(e)));
    for (const u of writes.journalUpdates) need(u.key);
    for (const t of writes.transfers) {
      if (t.journalDeviceId !== null && t.journalRequestId !== null && !inserted.has(journalKeyString({ deviceId: t.journalDeviceId, requestId: t.journalRequestId }))) {
        need({ deviceId: t.journalDeviceId, requestId: t.journalRequestId });
      }
    }
    const fresh = writes.journalInserts.filter((e) => !this.lookedUp.has(journalKeyString(e)));
    if (unknown.length > 0 || fresh.length > 0) {
      const found = await this.getJournalEntries([...unknown, ...fresh]);
      for (const e of fresh) invariant(!found.has(journalKeyString(e)), () => `journal key ${e.deviceId}/${e.requestId} inserted twice`);
      for (const k of unknown) {
        const s = this.ctx.entryServers.get(journalKeyString(k));
        invariant(s !== undefined && found.has(journalKeyString(k)), () => `no journal entry ${k.deviceId}/${k.requestId} on any server`);
        entryServers.set(journalKeyString(k), s);
      }
    }
    const plan = await planWrites(this.placement, writes, entryServers, async (need) => {
      const out = new Map<number, Map<string, number>>();
      await this.each([...need.keys()], async (tx, s) => {
        const rows = await tx.getAccounts([...need.get(s)!]);
        out.set(s, new Map([...rows].map(([id, a]) => [id, a.balance])));
      });
      return out;
    });
    await this.each([...plan.parts.keys()], (tx, s) => tx.apply(plan.parts.get(s)!));
    for (const [k, s] of entryServers) this.ctx.entryServers.set(k, s);
    this.credits.push(...plan.credits);
  }

  async bumpEpoch(): Promise<{ previous: number; current: number }> {
    return (await this.unit.tx(0)).bumpEpoch();
  }

  /** Where an account's files are: every server for system and hot accounts, else its directory server. */
  private filesOf(id: string): number[] {
    if (this.placement.isEverywhere(id)) return allServers(this.n);
    const s = this.placement.homeOf(id);
    if (s === null) throw new ShardedStoreError('TS_ERR_DIRECTORY_UNKNOWN_SERVER', `no server for account ${JSON.stringify(id)}`);
    return [s];
  }

  async insertAccount(account: Account): Promise<void> {
    if (isPositionAccount(account.id)) throw new ShardedStoreError('TS_ERR_CROSS_SERVER_WRITE', `${account.id} is a number the sharded store keeps for its positions`);
    const home = this.placement.homeOf(account.id) ?? 0;
    await this.each(this.filesOf(account.id), async (tx, s) => {
      await tx.insertAccount(s === home ? account : copyOf(account));
      if (account.kind === 'clearing' && isSystemAccount(account.id)) for (const p of positionsFor(account, s, this.n)) await tx.insertAccount(p);
    });
    if (account.kind === 'clearing' && isSystemAccount(account.id) && !this.ctx.clearing.has(account.currency)) this.ctx.clearing.set(account.currency, account.id);
    noteSystemAccount(this.ctx, account);
  }

  async setAccountStatus(id: string, status: AccountStatus): Promise<void> {
    await this.each(this.filesOf(id), (tx) => tx.setAccountStatus(id, status));
  }

  async setAttributes(id: string, attributes: CustomerAttributes): Promise<void> {
    await this.each(this.filesOf(id), (tx) => tx.setAttributes(id, attributes));
  }

  async upsertDevice(device: Device): Promise<void> {
    await (await this.unit.tx(0)).upsertDevice(device);
  }

  async insertWallet(wallet: Wallet): Promise<void> {
    await (await this.unit.tx(0)).insertWallet(wallet);
    this.ctx.walletAccounts.set(wallet.id, wallet.account);
  }

  async setWalletStatus(id: string, status: Wallet['status']): Promise<void> {
    await (await this.unit.tx(0)).setWalletStatus(id, status);
  }

  async advanceWalletRequestCounter(id: string, counter: number): Promise<boolean> {
    return (await this.unit.tx(0)).advanceWalletRequestCounter(id, counter);
  }

  /** A request id is on at most one server (looked for everywhere before an insert): its payer's for a paid issuance, else the e-money server. */
  async getEmoneyRequest(requestId: string): Promise<EmoneyRequestRecord | null> {
    this.requestsLookedUp.add(requestId);
    const found = (await this.each(allServers(this.n), (tx) => tx.getEmoneyRequest(requestId))).filter((r) => r !== null);
    invariant(found.length <= 1, () => `e-money request ${requestId} is on ${found.length} servers`);
    return found[0] ?? null;
  }

  /** Live tokens are on the e-money server (a token parked on its payer's server is not read here). */
  async getEmoneyTokens(serials: readonly string[]): Promise<Map<string, EmoneyTokenRecord>> {
    return (await this.unit.tx(emoneyServer)).getEmoneyTokens(serials);
  }

  /** The kind of every system account a write set moves money for (the floats' money is routed apart), read from server 0 when not known yet. */
  private async learnSystemAccounts(writes: WriteSet): Promise<void> {
    const unknown = [...new Set(writes.transfers.flatMap((t) => [t.from, t.to]))].filter((id) => isSystemAccount(id) && !this.ctx.systemAccounts.has(id));
    if (unknown.length === 0) return;
    for (const a of (await (await this.unit.tx(0)).getAccounts(unknown)).values()) noteSystemAccount(this.ctx, a);
  }
}
