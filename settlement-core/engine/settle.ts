/**
 * Claims 1, 24, 37: validate → withdraw payer → clearing → answer. The
 * deposit to the payee happens later (lifecycle.ts), after the answer.
 * Every refusal is a `declined` result with a stable reason code, journalled
 * under the request's key, so a redelivery gets the same bytes back.
 */
import { verifyWalletCryptogram } from '../../protocol/index.ts';
import type { Money, ReasonCode, SettleRequest, SettleResult } from '../../protocol/index.ts';
import { emoneyLimits } from '../emoney/wire.ts';
import { isEligible } from '../eligibility.ts';
import type { JournalEntry, JournalKey } from '../model.ts';
import type { BatchState } from './batch-state.ts';
import { approveEmoney, emoneyRequestRefusal } from './emoney-settle.ts';
import { buildResult } from './results.ts';
import type { MintTicket } from './tickets.ts';

export type ParsedSettle =
  | { ok: true; deviceId: string; req: SettleRequest; raw: string; fingerprint: string }
  | { ok: false; deviceId: string; requestId: string; reason: ReasonCode; raw: string; fingerprint: string };

export interface SettleDeps {
  walletKey(walletId: string): Uint8Array;
  deviceKey(deviceId: string): Uint8Array;
  /** The clearing account of a currency, if the ledger has one. */
  clearingFor(currency: string): string | undefined;
  amountMinorMaxPerSettle: number;
  /**
   * Claims 15–16: mints the ticket of an approved request that asks for one;
   * null when the core has no issuer key. Its issuer also signs the e-money
   * tokens of requests that buy e-money (claim 34, emoney-settle.ts).
   */
  mintTicket: MintTicket | null;
}

export interface SettleDecision {
  result: SettleResult;
  json: string;
  /** The paying wallet as the journal knows it (claim 12: its phone gets the result too); null if unreadable. */
  walletId: string | null;
  /** True when this is a redelivery answered from the journal. */
  replay: boolean;
}

export function decideSettle(b: BatchState, p: ParsedSettle, deps: SettleDeps): SettleDecision {
  const key: JournalKey = { deviceId: p.deviceId, requestId: p.ok ? p.req.requestId : p.requestId };
  const amount = p.ok ? p.req.purchase.amount : undefined;
  const existing = b.entry(key);
  if (existing) {
    if (existing.fingerprint === p.fingerprint) return { ...JSON_PARSE(existing.resultJson), walletId: existing.walletId, replay: true };
    // The key is taken by other content: refuse without touching the stored entry, and tell only the device.
    return { ...buildResult(deps.deviceKey(p.deviceId), { ...key, status: 'declined', reason: 'duplicate-mismatch', amount }, b.now), walletId: null, replay: false };
  }
  if (!p.ok) return journalDecline(b, p, key, p.reason, deps, null);
  const req = p.req;
  const reason = validate(b, p.deviceId, req, deps);
  if (reason !== null) return journalDecline(b, p, key, reason.code, deps, reason.counterConsumed ? req.wallet.counter : null);
  if (req.emoney !== undefined) {
    return { ...approveEmoney(b, req, key, deps, baseEntry(b, p, key, req.purchase.amount)), walletId: req.wallet.walletId, replay: false };
  }

  const payer = b.wallet(req.wallet.walletId)!.account;
  const clearing = deps.clearingFor(req.purchase.amount.currency)!;
  b.move('withdraw', payer, clearing, req.purchase.amount.minor, key);

  const coolingOffSec = req.restrictions?.coolingOffSec;
  const depositNotBefore = coolingOffSec !== undefined ? b.now + coolingOffSec * 1000 : null;
  const awaitingOutcome = req.outcomeDeadlineSec !== undefined;
  const state = awaitingOutcome || depositNotBefore === null ? 'withdrawn' : 'deferred';
  const dueAt = awaitingOutcome ? b.now + req.outcomeDeadlineSec! * 1000 : depositNotBefore ?? b.now;
  // validate() refused a ticket request when there is no minter.
  const ticket = req.ticket !== undefined ? deps.mintTicket!({ walletId: req.wallet.walletId, article: req.purchase.article, spec: req.ticket }, b.now) : undefined;
  const answer = buildResult(deps.deviceKey(p.deviceId), {
    ...key, status: 'approved', amount: req.purchase.amount, deferredUntil: depositNotBefore ?? undefined, ticket,
  }, b.now);
  b.insertEntry({
    ...baseEntry(b, p, key, req.purchase.amount),
    state, counter: req.wallet.counter, payer, depositNotBefore, awaitingOutcome, dueAt, resultJson: answer.json,
  });
  if (ticket !== undefined) b.issueTicket({ ticket, ...key });
  return { ...answer, walletId: req.wallet.walletId, replay: false };
}

const JSON_PARSE = (json: string): { result: SettleResult; json: string } => ({ result: JSON.parse(json) as SettleResult, json });

interface Refusal {
  code: ReasonCode;
  /** The cryptogram verified, so the wallet counter is used up even though the sale is refused. */
  counterConsumed: boolean;
}

function validate(b: BatchState, deviceId: string, req: SettleRequest, deps: SettleDeps): Refusal | null {
  const refuse = (code: ReasonCode, counterConsumed = false): Refusal => ({ code, counterConsumed });
  if (req.deviceId !== deviceId) return refuse('device-mismatch');
  const device = b.device(deviceId);
  if (!device) return refuse('unknown-device');
  if (device.status !== 'active') return refuse('device-not-active');
  const { merchant: merchantId, amount } = req.purchase;
  if (device.merchant !== merchantId) return refuse('merchant-mismatch');
  const merchant = b.account(merchantId);
  if (!merchant || merchant.kind !== 'merchant') return refuse('unknown-account');
  if (merchant.status !== 'active') return refuse('account-not-active');
  // A contradictory request or a configuration problem of this core, decided before the wallet is looked at: no counter is consumed.
  if (req.emoney !== undefined) {
    const why = emoneyRequestRefusal(b, req, deps);
    if (why !== null) return refuse(why);
  }
  if (req.ticket !== undefined && deps.mintTicket === null) return refuse('ticket-unavailable');
  const wallet = b.wallet(req.wallet.walletId);
  if (!wallet) return refuse('unknown-wallet');
  if (wallet.status !== 'active') return refuse('wallet-not-active');
  const auth = { walletId: wallet.id, deviceId, purchase: req.purchase, deviceNonce: req.wallet.deviceNonce, counter: req.wallet.counter };
  if (!verifyWalletCryptogram(deps.walletKey(wallet.id), auth, req.wallet.cryptogram)) return refuse('bad-cryptogram');
  if (b.counterUsed(wallet.id, req.wallet.counter)) return refuse('counter-reused');
  const payer = b.account(wallet.account);
  if (!payer) return refuse('unknown-account', true);
  if (payer.status !== 'active') return refuse('account-not-active', true);
  const clearing = deps.clearingFor(amount.currency);
  if (payer.currency !== amount.currency || merchant.currency !== amount.currency || clearing === undefined || !b.account(clearing)) {
    return refuse('currency-mismatch', true);
  }
  if (amount.minor > deps.amountMinorMaxPerSettle) return refuse('over-limit', true);
  // Buying e-money at a device is issuance: the wallet API's issuance limit applies too.
  if (req.emoney !== undefined && amount.minor > emoneyLimits.issueAmountMinorMax) return refuse('over-limit', true);
  if (!isEligible(req.restrictions?.eligibility, payer.attributes)) return refuse('not-eligible', true);
  if (!b.canDebit(payer.id, amount.minor)) return refuse('insufficient-funds', true);
  return null;
}

function baseEntry(b: BatchState, p: ParsedSettle, key: JournalKey, amount: Money | undefined): JournalEntry {
  const req = p.ok ? p.req : null;
  return {
    seq: null,
    deviceId: key.deviceId,
    requestId: key.requestId,
    fingerprint: p.fingerprint,
    state: 'declined',
    reason: null,
    walletId: req?.wallet.walletId ?? null,
    counter: null,
    payer: null,
    merchant: req?.purchase.merchant ?? null,
    article: req?.purchase.article ?? null,
    amount: amount?.minor ?? null,
    currency: amount?.currency ?? null,
    depositNotBefore: null,
    awaitingOutcome: false,
    dueAt: null,
    outcome: null,
    outcomeRequestId: null,
    requestJson: p.raw,
    resultJson: '',
    receivedAt: b.now,
    updatedAt: b.now,
  };
}

/**
 * Issue 5, the gate's offline policy: a device accepted the tap offline and
 * this is the debt arriving. Declined for one of these reasons after the
 * wallet's cryptogram verified, the debt cannot be collected: the wallet is
 * blocked in the same transaction. A decline before the cryptogram verified
 * (unknown wallet, bad cryptogram, reused counter: possibly a forgery or a
 * replay) never blocks anybody's wallet.
 */
export const offlineDebtReasons: ReadonlySet<ReasonCode> = new Set<ReasonCode>(['insufficient-funds', 'over-limit', 'account-not-active', 'unknown-account']);

function journalDecline(b: BatchState, p: ParsedSettle, key: JournalKey, reason: ReasonCode, deps: SettleDeps, counter: number | null): SettleDecision {
  const amount = p.ok ? p.req.purchase.amount : undefined;
  const answer = buildResult(deps.deviceKey(p.deviceId), { ...key, status: 'declined', reason, amount }, b.now);
  const payer = p.ok && counter !== null ? (b.wallet(p.req.wallet.walletId)?.account ?? null) : null;
  b.insertEntry({ ...baseEntry(b, p, key, amount), state: 'declined', reason, counter, payer, resultJson: answer.json });
  if (p.ok && p.req.offline === true && counter !== null && offlineDebtReasons.has(reason)) {
    b.blockWallet(p.req.wallet.walletId, { reason, deviceId: key.deviceId, requestId: key.requestId, at: b.now });
  }
  return { ...answer, walletId: p.ok ? p.req.wallet.walletId : null, replay: false };
}
