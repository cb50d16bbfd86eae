/**
 * The contract every ledger store implements (SQLite now; PostgreSQL and the
 * sharded store later). test/settlement-core/store-contract.ts is its test
 * suite, run against every implementation.
 *
 * The engine is the only writer and runs one unit of work at a time: it loads
 * what a batch needs, decides in memory, then hands the store one WriteSet.
 * The store applies it atomically and checks, on its side of the disk, that
 * every journal update and balance update starts from the state the engine
 * saw (a mismatch is an InvariantError and nothing is written).
 */
import type { AuditReport } from '../audit.ts';
import type { EmoneyToken } from '../../protocol/index.ts';
import type { Account, AccountStatus, CustomerAttributes, Device, EmoneyRequestRecord, EmoneySpend, EmoneyTokenRecord, IssuedTicket, JournalEntry, JournalKey, JournalState, NewTransfer, StatementLine, Transfer, Wallet, WalletBlock } from '../model.ts';

export interface JournalUpdate {
  key: JournalKey;
  from: JournalState;
  to: JournalState;
  /** The entry's mutable fields after the update (all of them, so the store writes one fixed statement). */
  fields: Pick<JournalEntry, 'dueAt' | 'awaitingOutcome' | 'outcome' | 'outcomeRequestId' | 'depositNotBefore' | 'updatedAt'>;
}

export interface BalanceUpdate {
  id: string;
  /** The balance the engine read; the store refuses the write if the disk says otherwise. */
  before: number;
  after: number;
}

export interface WriteSet {
  journalInserts: JournalEntry[];
  journalUpdates: JournalUpdate[];
  transfers: NewTransfer[];
  balances: BalanceUpdate[];
  /** Tickets minted by this batch's approvals (claims 15–16); a ticket id is inserted at most once. */
  tickets?: IssuedTicket[];
  /**
   * Wallets blocked by this batch for an offline debt it declined (issue 5).
   * Each wallet must be active on disk (the store refuses otherwise) and
   * becomes blocked with the block recorded.
   */
  walletBlocks?: (WalletBlock & { walletId: string })[];
  /**
   * E-money (claims 34–35): the decided requests (a request id is inserted at
   * most once), the tokens minted (a serial at most once) and the tokens
   * spent (each must be unspent on disk; the store refuses otherwise).
   */
  emoney?: EmoneyWrites;
}

export interface EmoneyWrites {
  requests: EmoneyRequestRecord[];
  mints: EmoneyTokenRecord[];
  spends: EmoneySpend[];
}

export interface EmoneyInboxQuery {
  /** Page cursor: tokens with a serial after this one (serials are UUIDv7, so this is issue order). */
  afterSerial?: string;
  limit: number;
}

export interface CounterKey {
  walletId: string;
  counter: number;
}

/** Reads and writes inside one ACID transaction. */
export interface LedgerTx {
  getAccounts(ids: readonly string[]): Promise<Map<string, Account>>;
  getDevices(ids: readonly string[]): Promise<Map<string, Device>>;
  getWallets(ids: readonly string[]): Promise<Map<string, Wallet>>;
  /** Keyed by journalKeyString. */
  getJournalEntries(keys: readonly JournalKey[]): Promise<Map<string, JournalEntry>>;
  /** Which of these (wallet, counter) pairs are already consumed; keyed `${walletId}:${counter}`. */
  countersUsed(keys: readonly CounterKey[]): Promise<Set<string>>;
  transferByReference(reference: string): Promise<Transfer | null>;
  findAccounts(kind: Account['kind'], currency: string): Promise<Account[]>;
  /** The highest account number in use on a branch, or -1. */
  maxAccountNumber(branch: number): Promise<number>;
  apply(writes: WriteSet): Promise<void>;
  /**
   * Reads the write epoch and advances it by one, in this transaction. Every
   * transaction that writes calls it first, so a reader that remembers the
   * epoch it left can tell whether anybody else wrote since.
   */
  bumpEpoch(): Promise<{ previous: number; current: number }>;
  insertAccount(account: Account): Promise<void>;
  setAccountStatus(id: string, status: AccountStatus): Promise<void>;
  setAttributes(id: string, attributes: CustomerAttributes): Promise<void>;
  upsertDevice(device: Device): Promise<void>;
  insertWallet(wallet: Wallet): Promise<void>;
  /** An operator's change; it clears any recorded offline-debt block. */
  setWalletStatus(id: string, status: Wallet['status']): Promise<void>;
  /** Sets the wallet's request counter to `counter` if it is higher than the stored one; returns whether it was. */
  advanceWalletRequestCounter(id: string, counter: number): Promise<boolean>;
  /** A decided e-money request, or null. */
  getEmoneyRequest(requestId: string): Promise<EmoneyRequestRecord | null>;
  /** The ledger's record of these tokens, keyed by serial; unknown serials are absent. */
  getEmoneyTokens(serials: readonly string[]): Promise<Map<string, EmoneyTokenRecord>>;
}

export interface StatementQuery {
  fromMs?: number;
  toMs?: number;
  /** Page cursor: lines with a transfer id below this (newest first). */
  beforeTransferId?: number;
  limit: number;
}

export interface JournalQuery {
  state?: JournalState;
  limit: number;
  /** Page cursor: entries after this journal sequence number (arrival order). */
  afterSeq?: number;
}

export interface LedgerStore {
  readonly kind: string;
  /** Creates or upgrades the schema; idempotent. */
  migrate(): Promise<void>;
  /** Runs fn in one transaction: commits, durably, when it resolves; rolls back when it throws. One at a time. */
  transaction<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T>;

  // Reads of committed data, outside any unit of work.
  getAccount(id: string): Promise<Account | null>;
  listAccounts(query: { kind?: Account['kind']; limit: number; afterId?: string }): Promise<Account[]>;
  getDevice(id: string): Promise<Device | null>;
  listDevices(): Promise<Device[]>;
  getWallet(id: string): Promise<Wallet | null>;
  statement(accountId: string, query: StatementQuery): Promise<StatementLine[]>;
  getJournalEntry(key: JournalKey): Promise<JournalEntry | null>;
  /** Tickets minted for this wallet, newest first (an indexed read). */
  walletTickets(walletId: string, limit: number): Promise<IssuedTicket[]>;
  /** Unspent tokens held by this wallet, in serial order (an indexed read): the wallet API inbox. */
  emoneyInbox(walletId: string, query: EmoneyInboxQuery): Promise<EmoneyToken[]>;
  /** Per issuer float account: the value and number of its unspent tokens, for the audit. */
  emoneyOutstanding(): Promise<Map<string, { value: number; count: number }>>;
  listJournal(query: JournalQuery): Promise<JournalEntry[]>;
  countJournalByState(): Promise<Record<string, number>>;
  /** Non-final entries whose dueAt is at or before nowMs, oldest first. */
  dueEntries(nowMs: number, limit: number): Promise<JournalKey[]>;
  /** The earliest dueAt of any non-final entry, or null. */
  nextDueAt(): Promise<number | null>;
  /** Every transfer with id > afterId, in id order, for the audit. */
  scanTransfers(afterId: number, limit: number): Promise<Transfer[]>;
  /** Every journal entry, for the audit, in key order. */
  scanJournal(after: JournalKey | null, limit: number): Promise<JournalEntry[]>;
  /** A store whose ledger spans several databases audits itself (the sharded store's global audit); the others are audited by audit.ts. */
  audit?(): Promise<AuditReport>;
  close(): Promise<void>;
}
