/** The LedgerTx of the worker-thread store (worker-store.ts): a unit of work held open in the worker, each call one message. */
import type { Account, AccountStatus, CustomerAttributes, Device, EmoneyRequestRecord, EmoneyTokenRecord, JournalEntry, JournalKey, Transfer, Wallet } from '../../model.ts';
import type { CounterKey, LedgerTx, WriteSet } from '../ledger-store.ts';
import { WorkerStoreError } from './errors.ts';
import type { RequestBody, TxMethod } from './wire.ts';

/** One unit of work held open in the worker: each call is one message. */
export class WorkerTx implements LedgerTx {
  private ended = false;

  constructor(private readonly store: { request(body: RequestBody): Promise<unknown> }, readonly id: number) {}

  end(): void {
    this.ended = true;
  }

  private call<T>(method: TxMethod, args: unknown[]): Promise<T> {
    if (this.ended) return Promise.reject(new WorkerStoreError('TS_ERR_STORE_WORKER_TX_ENDED', `${method} after its unit of work ended`));
    return this.store.request({ op: 'tx', tx: this.id, method, args }) as Promise<T>;
  }

  getAccounts(ids: readonly string[]): Promise<Map<string, Account>> {
    return this.call('getAccounts', [ids]);
  }

  getDevices(ids: readonly string[]): Promise<Map<string, Device>> {
    return this.call('getDevices', [ids]);
  }

  getWallets(ids: readonly string[]): Promise<Map<string, Wallet>> {
    return this.call('getWallets', [ids]);
  }

  getJournalEntries(keys: readonly JournalKey[]): Promise<Map<string, JournalEntry>> {
    return this.call('getJournalEntries', [keys]);
  }

  countersUsed(keys: readonly CounterKey[]): Promise<Set<string>> {
    return this.call('countersUsed', [keys]);
  }

  transferByReference(reference: string): Promise<Transfer | null> {
    return this.call('transferByReference', [reference]);
  }

  findAccounts(kind: Account['kind'], currency: string): Promise<Account[]> {
    return this.call('findAccounts', [kind, currency]);
  }

  maxAccountNumber(branch: number): Promise<number> {
    return this.call('maxAccountNumber', [branch]);
  }

  apply(writes: WriteSet): Promise<void> {
    return this.call('apply', [writes]);
  }

  bumpEpoch(): Promise<{ previous: number; current: number }> {
    return this.call('bumpEpoch', []);
  }

  insertAccount(account: Account): Promise<void> {
    return this.call('insertAccount', [account]);
  }

  setAccountStatus(id: string, status: AccountStatus): Promise<void> {
    return this.call('setAccountStatus', [id, status]);
  }

  setAttributes(id: string, attributes: CustomerAttributes): Promise<void> {
    return this.call('setAttributes', [id, attributes]);
  }

  upsertDevice(device: Device): Promise<void> {
    return this.call('upsertDevice', [device]);
  }

  insertWallet(wallet: Wallet): Promise<void> {
    return this.call('insertWallet', [wallet]);
  }

  setWalletStatus(id: string, status: Wallet['status']): Promise<void> {
    return this.call('setWalletStatus', [id, status]);
  }

  advanceWalletRequestCounter(id: string, counter: number): Promise<boolean> {
    return this.call('advanceWalletRequestCounter', [id, counter]);
  }

  getEmoneyRequest(requestId: string): Promise<EmoneyRequestRecord | null> {
    return this.call('getEmoneyRequest', [requestId]);
  }

  getEmoneyTokens(serials: readonly string[]): Promise<Map<string, EmoneyTokenRecord>> {
    return this.call('getEmoneyTokens', [serials]);
  }
}
