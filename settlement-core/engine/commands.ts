/** The commands that flow through group commit, and how a batch loads what they need. */
import type { Outcome, OutcomeAck, SettleResult } from '../../protocol/index.ts';
import type { JournalKey } from '../model.ts';
import type { CounterKey, LedgerTx } from '../store/ledger-store.ts';
import { BatchState } from './batch-state.ts';
import type { ParsedSettle } from './settle.ts';

interface Reply<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export type SettleReply = { kind: 'result'; result: SettleResult; json: string; replay: boolean };
export type OutcomeReply = { kind: 'outcome-ack'; ack: OutcomeAck; json: string };
export type CancelReply = { status: 'cancelled' | 'already-cancelled' };

export type Command =
  | ({ kind: 'settle'; parsed: ParsedSettle } & Reply<SettleReply>)
  | ({ kind: 'outcome'; outcome: Outcome } & Reply<OutcomeReply>)
  | ({ kind: 'cancel'; key: JournalKey; walletId: string | null } & Reply<CancelReply>)
  | { kind: 'advance'; key: JournalKey }
  | ({ kind: 'task'; run: (tx: LedgerTx, now: number) => Promise<unknown> } & Reply<unknown>);

/** Loads, in bulk, everything the batch's decisions will read. */
export async function loadBatch(tx: LedgerTx, batch: readonly Command[], clearingAccounts: Iterable<string>, now: number): Promise<BatchState> {
  const keys: JournalKey[] = [];
  const deviceIds = new Set<string>();
  const walletIds = new Set<string>();
  const accountIds = new Set<string>(clearingAccounts);
  const counters: CounterKey[] = [];
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
        }
        break;
      }
      case 'outcome':
        keys.push({ deviceId: c.outcome.deviceId, requestId: c.outcome.settleRequestId });
        break;
      case 'cancel':
      case 'advance':
        keys.push(c.key);
        break;
      case 'task':
        break;
    }
  }
  const [entries, devices, wallets, countersUsed] = await Promise.all([
    tx.getJournalEntries(keys), tx.getDevices([...deviceIds]), tx.getWallets([...walletIds]), tx.countersUsed(counters),
  ]);
  for (const w of wallets.values()) accountIds.add(w.account);
  for (const e of entries.values()) {
    if (e.payer !== null) accountIds.add(e.payer);
    if (e.merchant !== null) accountIds.add(e.merchant);
  }
  const accounts = await tx.getAccounts([...accountIds]);
  return new BatchState({ accounts, devices, wallets, entries, countersUsed }, now);
}
