/** The commands that flow through group commit, and how a batch loads what they need. */
import type { Outcome, OutcomeAck, SettleResult } from '../../protocol/index.ts';
import { journalKeyString } from '../model.ts';
import type { JournalEntry, JournalKey } from '../model.ts';
import type { CounterKey, LedgerTx } from '../store/ledger-store.ts';
import { BatchState } from './batch-state.ts';
import type { ReadCache } from './read-cache.ts';
import type { ParsedSettle } from './settle.ts';

interface Reply<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** `walletId`: the paying wallet, so its phone can get the result too (claim 12); null when unknown. */
export type SettleReply = { kind: 'result'; result: SettleResult; json: string; replay: boolean; walletId: string | null };
export type OutcomeReply = { kind: 'outcome-ack'; ack: OutcomeAck; json: string };
export type CancelReply = { status: 'cancelled' | 'already-cancelled' };

export type Command =
  | ({ kind: 'settle'; parsed: ParsedSettle } & Reply<SettleReply>)
  | ({ kind: 'outcome'; outcome: Outcome } & Reply<OutcomeReply>)
  | ({ kind: 'cancel'; key: JournalKey; walletId: string | null } & Reply<CancelReply>)
  /** `entry`: the entry as the batch that made it due committed it, so the next batch need not read it back. */
  | { kind: 'advance'; key: JournalKey; entry?: JournalEntry }
  | ({ kind: 'task'; run: (tx: LedgerTx, now: number) => Promise<unknown> } & Reply<unknown>);

/** Loads, in bulk, everything the batch's decisions will read: journal entries and counters from the store, the rest through the cache. */
export async function loadBatch(tx: LedgerTx, cache: ReadCache, batch: readonly Command[], clearingAccounts: Iterable<string>, now: number): Promise<BatchState> {
  const keys: JournalKey[] = [];
  const deviceIds = new Set<string>();
  const walletIds = new Set<string>();
  const accountIds = new Set<string>(clearingAccounts);
  const counters: CounterKey[] = [];
  const known: JournalEntry[] = [];
  const emoneyCurrencies = new Set<string>();
  for (const c of batch) {
    switch (c.kind) {
      case 'settle': {
        const p = c.parsed;
        keys.push({ deviceId: p.deviceId, requestId: p.ok ? p.req.requestId : p.requestId });
        if (p.ok) {
          deviceIds.add(p.deviceId);
          walletIds.add(p.req.wallet.walletId);
          accountIds.add(p.req.purchase.merchant);
          counters.push({ walletId: p.req.wallet.walletId, counter: p.req.wallet.counter });
          if (p.req.emoney !== undefined) emoneyCurrencies.add(p.req.purchase.amount.currency);
        }
        break;
      }
      case 'outcome':
        keys.push({ deviceId: c.outcome.deviceId, requestId: c.outcome.settleRequestId });
        break;
      case 'advance':
        if (c.entry && cache.trusted) known.push({ ...c.entry });
        else keys.push(c.key);
        break;
      case 'cancel':
        keys.push(c.key);
        break;
      case 'task':
        break;
    }
  }
  const entries = await tx.getJournalEntries(keys);
  for (const e of known) {
    const k = journalKeyString(e);
    if (!entries.has(k)) entries.set(k, e);
  }
  const countersUsed = await tx.countersUsed(counters);
  const devices = await cache.getDevices(tx, deviceIds);
  const wallets = await cache.getWallets(tx, walletIds);
  for (const w of wallets.values()) accountIds.add(w.account);
  const emoneyFloats = emoneyCurrencies.size > 0 ? await issuerFloats(tx, emoneyCurrencies) : undefined;
  for (const id of emoneyFloats?.values() ?? []) accountIds.add(id);
  for (const e of entries.values()) {
    // A deposit needs only the payee; a refund (reverse, cancel) only the payer; an outcome may lead to either.
    if (e.merchant !== null && e.payer !== null) {
      accountIds.add(e.merchant);
      if (e.awaitingOutcome || e.depositNotBefore !== null) accountIds.add(e.payer);
    }
  }
  const accounts = await cache.getAccounts(tx, accountIds);
  return new BatchState({ accounts, devices, wallets, entries, countersUsed, ...(emoneyFloats !== undefined ? { emoneyFloats } : {}) }, now);
}

/** Claim 34 at a device: the issuer float of each currency a settle request of the batch buys e-money in (a currency without one is absent). */
async function issuerFloats(tx: LedgerTx, currencies: ReadonlySet<string>): Promise<Map<string, string>> {
  const floats = new Map<string, string>();
  for (const currency of currencies) {
    const [float] = await tx.findAccounts('issuer-float', currency);
    if (float !== undefined) floats.set(currency, float.id);
  }
  return floats;
}
