/**
 * What happens to a withdrawn settlement after the answer (DESIGN §6 steps
 * 4–5): deposit to the payee, wait out a cooling-off period (claim 13), take
 * a device outcome, reverse a failed vend or a missing outcome, cancel on the
 * customer's demand. Every function here is idempotent: applied to an entry
 * that has already moved on, it does nothing.
 */
import { successfulOutcomes } from '../../protocol/index.ts';
import type { Outcome, OutcomeAck } from '../../protocol/index.ts';
import { CoreError, invariant } from '../errors.ts';
import { finalStates } from '../journal-states.ts';
import type { JournalEntry, JournalKey } from '../model.ts';
import type { BatchState } from './batch-state.ts';

function moneyOf(e: JournalEntry): { payer: string; merchant: string; amount: number } {
  invariant(e.payer !== null && e.merchant !== null && e.amount !== null, () => `entry ${e.deviceId}/${e.requestId} in ${e.state} lacks payer, merchant or amount`);
  return { payer: e.payer, merchant: e.merchant, amount: e.amount };
}

function deposit(b: BatchState, e: JournalEntry, clearing: string): void {
  const m = moneyOf(e);
  b.move('deposit', clearing, m.merchant, m.amount, e);
  b.updateEntry(e, 'deposited', { dueAt: null, awaitingOutcome: false });
}

function refund(b: BatchState, e: JournalEntry, clearing: string, how: 'reverse' | 'cancel'): void {
  const m = moneyOf(e);
  b.move(how, clearing, m.payer, m.amount, e);
  b.updateEntry(e, how === 'reverse' ? 'reversed' : 'cancelled', { dueAt: null, awaitingOutcome: false });
}

/** Deposit once nothing holds the money back; otherwise wait in `deferred` until the cooling-off ends. */
function release(b: BatchState, e: JournalEntry, clearing: string): void {
  if (e.depositNotBefore !== null && e.depositNotBefore > b.now) {
    b.updateEntry(e, 'deferred', { dueAt: e.depositNotBefore, awaitingOutcome: false });
  } else {
    deposit(b, e, clearing);
  }
}

/** The scheduler found `key` due: deposit, end a cooling-off, or reverse a sale whose outcome never came. */
export function advance(b: BatchState, key: JournalKey, clearingFor: (currency: string) => string | undefined): void {
  const e = b.entry(key);
  if (!e || finalStates.has(e.state) || e.dueAt === null || e.dueAt > b.now) return;
  invariant(e.state === 'withdrawn' || e.state === 'deferred', () => `entry ${key.deviceId}/${key.requestId} due in state ${e.state}`);
  const clearing = clearingFor(e.currency!);
  invariant(clearing !== undefined, `no clearing account for ${e.currency}`);
  if (e.state === 'withdrawn' && e.awaitingOutcome) refund(b, e, clearing, 'reverse');
  else release(b, e, clearing);
}

export function applyOutcome(b: BatchState, o: Outcome, clearingFor: (currency: string) => string | undefined): OutcomeAck['status'] {
  const e = b.entry({ deviceId: o.deviceId, requestId: o.settleRequestId });
  if (!e) return 'unknown-request';
  if (e.outcomeRequestId === o.requestId) return 'already-applied';
  if (e.outcome !== null || e.state === 'declined') return 'rejected';
  if (!e.awaitingOutcome) {
    // Money has moved on without waiting for this outcome (deadline passed, or none was promised): record it, move nothing.
    b.updateEntry(e, e.state, { outcome: o.outcome, outcomeRequestId: o.requestId });
    return e.state === 'reversed' && successfulOutcomes.has(o.outcome) ? 'too-late' : 'applied';
  }
  const clearing = clearingFor(e.currency!);
  invariant(clearing !== undefined, `no clearing account for ${e.currency}`);
  b.updateEntry(e, e.state, { outcome: o.outcome, outcomeRequestId: o.requestId, awaitingOutcome: false });
  if (successfulOutcomes.has(o.outcome)) release(b, e, clearing);
  else refund(b, e, clearing, 'reverse');
  return 'applied';
}

/** Claim 13: the customer (or an operator) cancels a cooling-off purchase before its period ends. */
export function cancelDeferred(b: BatchState, key: JournalKey, walletId: string | null, clearingFor: (currency: string) => string | undefined): 'cancelled' | 'already-cancelled' {
  const e = b.entry(key);
  if (!e || (walletId !== null && e.walletId !== walletId)) {
    throw new CoreError('TS_ERR_UNKNOWN_REQUEST', `no settlement ${key.deviceId}/${key.requestId}${walletId !== null ? ' for this wallet' : ''}`);
  }
  if (e.state === 'cancelled') return 'already-cancelled';
  const inPeriod = e.depositNotBefore !== null && b.now < e.depositNotBefore;
  if (!(e.state === 'deferred' || e.state === 'withdrawn') || !inPeriod) {
    throw new CoreError('TS_ERR_NOT_CANCELLABLE', `settlement ${key.deviceId}/${key.requestId} is ${e.state}${e.depositNotBefore === null ? ' and has no cooling-off period' : ', outside its cooling-off period'}`);
  }
  const clearing = clearingFor(e.currency!);
  invariant(clearing !== undefined, `no clearing account for ${e.currency}`);
  refund(b, e, clearing, 'cancel');
  return 'cancelled';
}
