/**
 * One unit of work's view of the ledger: what the batch loaded, plus every
 * change the batch has decided so far. Decisions inside a batch see each
 * other (two taps of one payer in one batch draw on one balance). At the end
 * it yields the WriteSet the store applies atomically.
 */
import { CoreError, invariant } from '../errors.ts';
import { assertTransition } from '../journal-states.ts';
import { journalKeyString } from '../model.ts';
import type { Account, Device, EmoneyTokenRecord, IssuedTicket, JournalEntry, JournalKey, JournalState, TransferKind, Wallet, WalletBlock } from '../model.ts';
import type { JournalUpdate, WriteSet } from '../store/ledger-store.ts';

export interface BatchContext {
  accounts: Map<string, Account>;
  devices: Map<string, Device>;
  wallets: Map<string, Wallet>;
  entries: Map<string, JournalEntry>;
  countersUsed: Set<string>;
  /**
   * Claim 34 at a device: the issuer float account of each currency a settle
   * request of the batch buys e-money in. Absent (or without the currency):
   * e-money cannot be issued in this batch.
   */
  emoneyFloats?: ReadonlyMap<string, string>;
}

export type MutableFields = JournalUpdate['fields'];

export class BatchState {
  private readonly balanceBefore = new Map<string, number>();
  private readonly inserted = new Map<string, JournalEntry>();
  private readonly updates = new Map<string, JournalUpdate>();
  private readonly transfers: WriteSet['transfers'] = [];
  private readonly tickets: IssuedTicket[] = [];
  private readonly emoneyMints: EmoneyTokenRecord[] = [];
  private readonly walletBlocks: NonNullable<WriteSet['walletBlocks']> = [];

  constructor(private readonly ctx: BatchContext, readonly now: number) {}

  account(id: string | null): Account | undefined {
    return id === null ? undefined : this.ctx.accounts.get(id);
  }
  device(id: string): Device | undefined {
    return this.ctx.devices.get(id);
  }
  wallet(id: string): Wallet | undefined {
    return this.ctx.wallets.get(id);
  }
  entry(key: JournalKey): JournalEntry | undefined {
    return this.ctx.entries.get(journalKeyString(key));
  }

  /** The issuer float of `currency` if this batch may issue e-money in it (commands.ts loaded it), else undefined. */
  emoneyFloat(currency: string): Account | undefined {
    const id = this.ctx.emoneyFloats?.get(currency);
    return id === undefined ? undefined : this.ctx.accounts.get(id);
  }

  counterUsed(walletId: string, counter: number): boolean {
    return this.ctx.countersUsed.has(`${walletId}:${counter}`);
  }

  /** Would `amount` leave `accountId` above its floor? */
  canDebit(accountId: string, amount: number): boolean {
    const a = this.ctx.accounts.get(accountId);
    return a !== undefined && a.balance - amount >= a.floor;
  }

  /** One double-entry transfer. Callers check funds first; here a floor breach is a bug. */
  move(kind: TransferKind, fromId: string, toId: string, amount: number, journal: JournalKey | null, reference: string | null = null): void {
    const from = this.ctx.accounts.get(fromId);
    const to = this.ctx.accounts.get(toId);
    invariant(from && to, () => `transfer between unloaded accounts ${fromId} → ${toId}`);
    invariant(Number.isSafeInteger(amount) && amount > 0, () => `transfer amount ${amount} is not a positive integer`);
    invariant(from.currency === to.currency, () => `transfer ${fromId} → ${toId} across currencies`);
    invariant(from.balance - amount >= from.floor, () => `transfer would take ${fromId} below its floor`);
    for (const a of [from, to]) if (!this.balanceBefore.has(a.id)) this.balanceBefore.set(a.id, a.balance);
    from.balance -= amount;
    to.balance += amount;
    this.transfers.push({
      kind, from: fromId, to: toId, amount, currency: from.currency,
      fromBalanceAfter: from.balance, toBalanceAfter: to.balance,
      journalDeviceId: journal?.deviceId ?? null, journalRequestId: journal?.requestId ?? null,
      reference, at: this.now,
    });
  }

  /** Appends a new journal entry, born in `entry.state` (which must be reachable from `received`). */
  insertEntry(entry: JournalEntry): void {
    const k = journalKeyString(entry);
    invariant(!this.ctx.entries.has(k), () => `journal key ${entry.deviceId}/${entry.requestId} inserted twice`);
    if (entry.state !== 'received') assertTransition('received', entry.state);
    if (entry.counter !== null) {
      invariant(entry.walletId !== null && !this.counterUsed(entry.walletId, entry.counter), 'wallet counter consumed twice');
      this.ctx.countersUsed.add(`${entry.walletId}:${entry.counter}`);
    }
    this.ctx.entries.set(k, entry);
    this.inserted.set(k, entry);
  }

  /** Records a ticket minted for an entry this batch inserts (its result carries the same ticket). */
  issueTicket(issued: IssuedTicket): void {
    const k = journalKeyString(issued);
    invariant(this.inserted.get(k)?.resultJson.includes(issued.ticket.sig) === true, () => `ticket ${issued.ticket.ticketId} is not in the result of ${issued.deviceId}/${issued.requestId}`);
    this.tickets.push(issued);
  }

  /**
   * Records an e-money token minted for an entry this batch inserts (claim 34
   * at a device): its result carries the same token, and the batch has moved
   * its value into the float, so float = unspent tokens holds at the commit.
   */
  mintEmoney(minted: EmoneyTokenRecord, key: JournalKey): void {
    const t = minted.token;
    invariant(this.inserted.get(journalKeyString(key))?.resultJson.includes(t.sig) === true, () => `e-money token ${t.serial} is not in the result of ${key.deviceId}/${key.requestId}`);
    invariant(this.transfers.some((x) => x.kind === 'deposit' && x.to === t.float && x.amount === t.amount.minor && x.journalRequestId === key.requestId && x.journalDeviceId === key.deviceId),
      () => `e-money token ${t.serial} minted without its value moving into ${t.float}`);
    this.emoneyMints.push(minted);
  }

  /** Blocks an active wallet for an offline debt this batch declined; later decisions in the batch see it blocked. */
  blockWallet(walletId: string, block: WalletBlock): void {
    const wallet = this.ctx.wallets.get(walletId);
    invariant(wallet?.status === 'active', () => `blocking wallet ${walletId}, which is not an active wallet of this batch`);
    // A copy: the read cache's object changes only after the commit.
    this.ctx.wallets.set(walletId, { ...wallet, status: 'blocked', blockedBy: block });
    this.walletBlocks.push({ walletId, ...block });
  }

  /** Moves an entry to `to` (or annotates it, when `to` is its state) and records the update. */
  updateEntry(entry: JournalEntry, to: JournalState, fields: Partial<MutableFields>): void {
    if (to !== entry.state) assertTransition(entry.state, to);
    const k = journalKeyString(entry);
    invariant(this.ctx.entries.get(k) === entry, 'updating a journal entry the batch did not load');
    const from = this.updates.get(k)?.from ?? entry.state;
    Object.assign(entry, fields, { state: to, updatedAt: this.now });
    if (this.inserted.has(k)) return; // still to be inserted: the insert carries the new state
    this.updates.set(k, {
      key: { deviceId: entry.deviceId, requestId: entry.requestId },
      from,
      to,
      fields: {
        dueAt: entry.dueAt, awaitingOutcome: entry.awaitingOutcome, outcome: entry.outcome,
        outcomeRequestId: entry.outcomeRequestId, depositNotBefore: entry.depositNotBefore, updatedAt: entry.updatedAt,
      },
    });
  }

  /** Entries this batch left due at or before now (a deposit right after the answer), as they will be on disk. */
  dueNow(): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const k of [...this.inserted.keys(), ...this.updates.keys()]) {
      const e = this.ctx.entries.get(k)!;
      if (e.dueAt !== null && e.dueAt <= this.now) out.push({ ...e });
    }
    return out;
  }

  finish(): WriteSet {
    const balances: WriteSet['balances'] = [];
    for (const [id, before] of this.balanceBefore) {
      const after = this.ctx.accounts.get(id)!.balance;
      if (after !== before) balances.push({ id, before, after });
    }
    let net = 0;
    for (const b of balances) net += b.after - b.before;
    invariant(net === 0, () => `batch does not conserve money: net ${net}`);
    return {
      journalInserts: [...this.inserted.values()], journalUpdates: [...this.updates.values()], transfers: this.transfers, balances, tickets: this.tickets, walletBlocks: this.walletBlocks,
      // Only a batch that minted writes e-money.
      ...(this.emoneyMints.length > 0 ? { emoney: { requests: [], mints: this.emoneyMints, spends: [] } } : {}),
    };
  }
}

export function requireAccount(b: BatchState, id: string): Account {
  const a = b.account(id);
  if (!a) throw new CoreError('TS_ERR_UNKNOWN_ACCOUNT', `no account ${id}`);
  return a;
}
