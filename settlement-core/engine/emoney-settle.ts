/**
 * Claim 34 at a device: a settle request that carries an EmoneySpec buys
 * e-money of its amount (a kiosk writes the token to the phone with PUT
 * EMONEY). The phone's purchase cryptogram authorizes it, so this is the
 * user demanding issuance; the token's holder is the paying wallet.
 *
 * Approved, in the one transaction of the batch: payer → clearing
 * (`withdraw`) and clearing → the currency's issuer float (`deposit`) under
 * the request's journal key, the entry born `deposited`, and the token
 * minted (settlement-core/emoney/mint.ts, the wallet API's own mint) into
 * the result and recorded as an unspent token held by the wallet. So the
 * audit's float = unspent tokens holds at every commit, the token is in the
 * wallet's inbox before the device hears anything, and a resend of the
 * request is answered from the journal with the same bytes (same token).
 *
 * The sale is final at approval: the token holds the value. A device outcome
 * (`emoney-delivered`, `emoney-retrievable`, or even `vend-failed`) is only
 * recorded; nothing is refunded — a refund would leave an unspent token
 * without its float. A request that asks for what would hold the money back
 * (an outcome deadline, a cooling-off period), a ticket too, or that was
 * accepted offline is refused `invalid-request`.
 */
import type { ReasonCode, SettleRequest, SettleResult } from '../../protocol/index.ts';
import { invariant } from '../errors.ts';
import { mintToken } from '../emoney/mint.ts';
import type { JournalEntry, JournalKey } from '../model.ts';
import type { BatchState } from './batch-state.ts';
import { buildResult } from './results.ts';
import type { SettleDeps } from './settle.ts';

/**
 * Why an e-money request cannot be served, decided before the wallet is
 * looked at (no counter is consumed), or null.
 */
export function emoneyRequestRefusal(b: BatchState, req: SettleRequest, deps: SettleDeps): ReasonCode | null {
  if (req.ticket !== undefined || req.outcomeDeadlineSec !== undefined || req.restrictions?.coolingOffSec !== undefined || req.offline === true) return 'invalid-request';
  // One issuer key signs tickets and e-money (DESIGN §5); the ticket minter carries it.
  if (deps.mintTicket === null) return 'emoney-unavailable';
  const float = b.emoneyFloat(req.purchase.amount.currency);
  if (float === undefined || float.status !== 'active') return 'emoney-unavailable';
  return null;
}

/** The approval of a validated e-money request: the movements, the entry, the token. `base` is the entry as decideSettle builds it. */
export function approveEmoney(b: BatchState, req: SettleRequest, key: JournalKey, deps: SettleDeps, base: JournalEntry): { result: SettleResult; json: string } {
  const { amount } = req.purchase;
  const issuer = deps.mintTicket?.issuer;
  const float = b.emoneyFloat(amount.currency);
  const clearing = deps.clearingFor(amount.currency);
  invariant(issuer !== undefined && float !== undefined && clearing !== undefined, 'e-money approved without an issuer, a float or a clearing account');
  const payer = b.wallet(req.wallet.walletId)!.account;
  const token = mintToken(issuer, { amount, holder: req.wallet.walletId, float: float.id }, b.now);
  const answer = buildResult(deps.deviceKey(key.deviceId), { ...key, status: 'approved', amount, emoney: token }, b.now);

  b.move('withdraw', payer, clearing, amount.minor, key);
  const entry: JournalEntry = {
    ...base, state: 'withdrawn', merchant: float.id, counter: req.wallet.counter, payer, depositNotBefore: null, awaitingOutcome: false, dueAt: b.now, resultJson: answer.json,
  };
  b.insertEntry(entry);
  b.move('deposit', clearing, float.id, amount.minor, key);
  b.updateEntry(entry, 'deposited', { dueAt: null, awaitingOutcome: false });
  // The token's issue request is the settlement's requestId (UUIDv7, unique like a wallet API request id): the journal
  // entry and its transfers carry it, so a store can tell which movement pays for which token (the sharded store does).
  b.mintEmoney({ token, issueRequest: key.requestId, spentAt: null, depositRequest: null }, key);
  return answer;
}
