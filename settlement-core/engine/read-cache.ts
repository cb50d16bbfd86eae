/**
 * What the engine reads on every tap and rarely changes — devices, wallets,
 * accounts (with their balances) — kept in memory between batches.
 *
 * Safe because every transaction, ours or another process's (the CLI funding
 * an account while the gateway runs), bumps the store's write epoch: at the
 * start of each unit of work the core compares the epoch with the one it
 * wrote last, and if anyone else wrote in between, it forgets everything.
 * The store still checks every balance update against the disk, so a stale
 * cache could never write a wrong balance — it would stop the core instead.
 *
 * Batches work on copies of cached accounts; the cache takes the new
 * balances only after the batch has committed.
 */
import type { Account, Device, Wallet } from '../model.ts';
import type { LedgerTx, WriteSet } from '../store/ledger-store.ts';

export interface ReadCacheLimits {
  /** Accounts kept (~300 bytes each): 250,000 is ~75 MiB. Past it the cache starts over. */
  accountCacheMax: number;
  /** Devices and wallets kept (~150 bytes each). */
  registryCacheMax: number;
}

export const defaultReadCacheLimits: ReadCacheLimits = { accountCacheMax: 250_000, registryCacheMax: 250_000 };

export class ReadCache {
  private readonly accounts = new Map<string, Account>();
  private readonly devices = new Map<string, Device>();
  private readonly wallets = new Map<string, Wallet>();
  /** The epoch our last committed transaction left behind; null = trust nothing. */
  private epoch: number | null = null;

  constructor(private readonly limits: ReadCacheLimits) {}

  /** True when nobody but this core has written since its last commit: what it remembers is what is on disk. */
  trusted = false;

  /** Call first in every unit of work. Returns the epoch this transaction will leave behind on commit. */
  async begin(tx: LedgerTx): Promise<number> {
    const { previous, current } = await tx.bumpEpoch();
    this.trusted = previous === this.epoch;
    if (!this.trusted) this.clear();
    return current;
  }

  /** After a commit: adopt the epoch, the balances written and the wallets blocked. */
  committed(epoch: number, writes: WriteSet | null): void {
    this.epoch = epoch;
    if (!writes) return;
    for (const b of writes.balances) {
      const cached = this.accounts.get(b.id);
      if (cached) cached.balance = b.after;
    }
    for (const { walletId, ...block } of writes.walletBlocks ?? []) {
      const cached = this.wallets.get(walletId);
      if (cached) this.wallets.set(walletId, { ...cached, status: 'blocked', blockedBy: block });
    }
  }

  /** After an operator task: it may have changed anything, so start over (they are rare). */
  invalidate(epoch: number): void {
    this.clear();
    this.epoch = epoch;
  }

  clear(): void {
    this.trusted = false;
    this.accounts.clear();
    this.devices.clear();
    this.wallets.clear();
    this.epoch = null;
  }

  /** Accounts as private copies the batch may change. */
  async getAccounts(tx: LedgerTx, ids: Iterable<string>): Promise<Map<string, Account>> {
    const out = new Map<string, Account>();
    const missing: string[] = [];
    for (const id of ids) {
      const a = this.accounts.get(id);
      if (a) out.set(id, { ...a });
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const [id, a] of await tx.getAccounts(missing)) {
        this.remember(this.accounts, id, a, this.limits.accountCacheMax);
        out.set(id, { ...a });
      }
    }
    return out;
  }

  getDevices(tx: LedgerTx, ids: Iterable<string>): Promise<Map<string, Device>> {
    return this.registry(this.devices, ids, (m) => tx.getDevices(m));
  }

  getWallets(tx: LedgerTx, ids: Iterable<string>): Promise<Map<string, Wallet>> {
    return this.registry(this.wallets, ids, (m) => tx.getWallets(m));
  }

  private async registry<T>(cache: Map<string, T>, ids: Iterable<string>, load: (missing: string[]) => Promise<Map<string, T>>): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    const missing: string[] = [];
    for (const id of ids) {
      const v = cache.get(id);
      if (v) out.set(id, v);
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const [id, v] of await load(missing)) {
        this.remember(cache, id, v, this.limits.registryCacheMax);
        out.set(id, v);
      }
    }
    return out;
  }

  private remember<T>(cache: Map<string, T>, id: string, value: T, max: number): void {
    if (cache.size >= max) cache.clear();
    cache.set(id, value);
  }
}
