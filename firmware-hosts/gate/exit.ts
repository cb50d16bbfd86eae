/**
 * The exit side of a gate (claim 11): read and verify the admission, charge
 * the fare from the fare table, open only on a verified approval of exactly
 * that fare, clear the admission, report `passed` or `not-passed`.
 *
 * When no verified result comes in time, the offline policy decides:
 * `refuse` keeps the gate closed; `accept` opens within the wallet's
 * outstanding offline limits (never for a deny-listed wallet). Every such
 * decision is written to the gate state before the gate acts, so the late
 * answer is still acted on after a reboot: a late approval of a refused tap
 * is answered `not-passed` (the core refunds); a declined offline debt puts
 * the wallet on the local deny list and raises a `deny-listed` event.
 */
import type { WalletInfo } from '../../protocol/applet.ts';
import type { Admission, Purchase, SettleResult } from '../../protocol/index.ts';
import { formatMoney, uuidv7 } from '../../protocol/index.ts';
import type { OutcomeKind } from '../../protocol/messages.ts';
import type { SettleDraft } from '../runtime/bodies.ts';
import { bounded } from '../runtime/machine.ts';
import { deviceNonce, errorCode } from '../runtime/tap.ts';
import type { Tap } from '../runtime/tap.ts';
import { TapError } from './errors.ts';
import { fareFor } from './fares.ts';
import type { Fare } from './fares.ts';
import type { GateState } from './gate-state.ts';
import { GraceBook } from './grace.ts';
import type { Passage } from './passage.ts';
import type { GateProgram } from './program.ts';
import { admissionVerifies } from './signatures.ts';

type Settled = { kind: 'result'; result: SettleResult; roundTripMs: number } | { kind: 'unreachable' } | { kind: 'timeout' };

export class ExitDesk {
  /** Exits whose gate closed before anyone passed: the entry station they were charged from, for a free retry. */
  private readonly retries: GraceBook<{ from: string | null }>;
  private readonly counts = { lateRefunds: 0, offlineAccepted: 0, offlineRefused: 0, offlineSettled: 0, denyListed: 0, orphaned: 0 };

  constructor(private readonly g: GateProgram, private readonly state: GateState) {
    this.retries = new GraceBook(g.s.retryGraceMs, g.ctx.clock);
    g.ctx.link.on('result', (r) => this.late(r));
  }

  /** At start: decisions whose request is no longer in the outbox cannot be answered any more; an offline opening cut by a crash counts as not passed. */
  restore(): void {
    for (const id of this.state.decidedIds()) {
      const d = this.state.decided(id)!;
      if (this.g.ctx.link.outbox.get(id) === undefined) {
        this.g.ctx.log.warn({ requestId: id, how: d.how }, 'decided exit tap has no outbox entry any more; forgotten');
        this.counts.orphaned += 1;
        this.state.forget(id);
      } else if (d.how === 'offline' && d.passage === undefined) {
        this.state.update(id, { passage: 'not-passed' });
      }
    }
  }

  report(): Record<string, unknown> {
    return { ...this.counts, undecided: this.state.decidedIds().length };
  }

  async exit(tap: Tap, wallet: WalletInfo, known?: Admission | null): Promise<void> {
    const { g } = this;
    const config = g.ctx.config()!;
    const admission = known !== undefined ? known : await tap.wallet.getAdmission().catch((err: unknown) => {
      if (errorCode(err) === 'TS_ERR_APPLET_BAD_RESPONSE') return null;
      throw new TapError(`phone-left: ${errorCode(err)}`);
    });
    const valid = admission !== null && admissionVerifies(config, admission) && admission.walletId === wallet.walletId;
    let from = valid ? admission.station : null;
    if (admission === null) from = this.retries.take(wallet.walletId)?.from ?? null;
    if (admission !== null && !valid) g.ctx.link.event('info', `admission of ${wallet.walletId} does not verify: maximum fare`);
    const fare = fareFor(config.fareTable!, from, g.s.stationId);
    const clear = admission !== null ? () => tap.wallet.putAdmission(null) : undefined;
    const after = (p: Passage) => { if (p !== 'passed') this.retries.put(wallet.walletId, { from }); };
    if (fare.minor === 0) {
      await g.admit(tap, 'exit', wallet.walletId, 'no fare', after, clear);
      return;
    }
    const purchase: Purchase = { merchant: config.merchant, amount: { minor: fare.minor, currency: fare.currency }, article: fare.article, quantity: 1 };
    g.ctx.parts.display.show(`Fare ${formatMoney(fare.minor, fare.currency)}`);
    const auth = await tap.wallet.authorizePurchase({ deviceId: g.ctx.deviceId, purchase, deviceNonce: deviceNonce() }).catch((err: unknown) => {
      throw new TapError(`not-authorized: ${errorCode(err)}`);
    });
    const draft: SettleDraft = { requestId: uuidv7(g.ctx.clock()), purchase, wallet: auth, outcomeDeadlineSec: g.s.outcomeDeadlineSec };
    g.machine.to('settling', fare.article);
    const t0 = performance.now();
    const settled = await this.settle(draft);
    if (settled.kind === 'result') {
      g.ctx.metrics.deviceOverheadSeconds.observe(Math.max(0, performance.now() - tap.seenAt - settled.roundTripMs) / 1000);
      return this.onResult(tap, wallet, draft, fare, settled.result, after, clear);
    }
    g.ctx.log.warn({ requestId: draft.requestId, waitedMs: Math.round(performance.now() - t0), how: settled.kind }, 'no verified result in time: offline policy');
    return this.offline(tap, wallet, draft, fare, settled.kind === 'timeout', after, clear);
  }

  /** The settle round trip, bounded by resultTimeoutMs in all (a wait for the connection included). */
  private async settle(draft: SettleDraft): Promise<Settled> {
    const { link } = this.g.ctx;
    const deadline = performance.now() + this.g.s.resultTimeoutMs;
    if (!link.connected) {
      let listener: (() => void) | null = null;
      const up = await bounded('gateway connection', new Promise<void>((resolve) => { listener = resolve; link.once('connected', resolve); }), this.g.s.resultTimeoutMs);
      if (listener) link.off('connected', listener);
      if (!up.ok) return { kind: 'unreachable' };
    }
    const t0 = performance.now();
    try {
      const result = await link.settle(draft, Math.max(1, Math.round(deadline - performance.now())));
      return { kind: 'result', result, roundTripMs: performance.now() - t0 };
    } catch (err) {
      if (errorCode(err) === 'TS_ERR_LINK_TIMEOUT') return { kind: 'timeout' };
      throw new TapError(`not-sent: ${errorCode(err)}`);
    }
  }

  private async onResult(tap: Tap, wallet: WalletInfo, draft: SettleDraft, fare: Fare, r: SettleResult, after: (p: Passage) => void, clear?: () => Promise<void>): Promise<void> {
    const { g } = this;
    if (r.status !== 'approved') return g.refuse(tap, `declined: ${r.reason ?? 'no reason'}`, 'exit', wallet.walletId);
    if (r.amount?.minor !== fare.minor || r.amount.currency !== fare.currency) {
      // Approved, but not what this gate asked for: do not open, and give the money back.
      this.outcome(draft.requestId, 'not-passed', 'approved amount differs from the fare');
      return g.refuse(tap, 'result-mismatch', 'exit', wallet.walletId);
    }
    await g.admit(tap, 'exit', wallet.walletId, `fare ${fare.minor} ${fare.currency}`, (p) => {
      after(p);
      this.outcome(draft.requestId, p === 'passed' ? 'passed' : 'not-passed', p);
    }, clear);
  }

  private offlineRoom(walletId: string, fare: Fare): string | null {
    const { offline } = this.g.s;
    if (offline.policy === 'refuse') return 'offline-refused';
    if (this.g.isDenied(walletId)) return 'deny-listed';
    const debt = this.state.offlineDebt(walletId);
    if (debt.count + 1 > offline.countMax || debt.amountMinor + fare.minor > offline.amountMaxMinor) return 'offline-limit';
    return null;
  }

  /** No verified result in time. `written`: the request is already in the outbox (sent, unanswered); otherwise nothing was written yet. */
  private async offline(tap: Tap, wallet: WalletInfo, draft: SettleDraft, fare: Fare, written: boolean, after: (p: Passage) => void, clear?: () => Promise<void>): Promise<void> {
    const { g } = this;
    const refusal = this.offlineRoom(wallet.walletId, fare);
    if (refusal !== null) {
      // A request already sent may still be approved: the decision is kept so the late approval is refunded.
      if (written) this.state.decide(draft.requestId, { walletId: wallet.walletId, amountMinor: fare.minor, how: 'refused' });
      this.counts.offlineRefused += 1;
      return g.refuse(tap, refusal === 'offline-refused' ? 'no-result' : refusal, 'exit', wallet.walletId);
    }
    this.state.decide(draft.requestId, { walletId: wallet.walletId, amountMinor: fare.minor, how: 'offline' });
    if (!written) {
      try {
        g.ctx.link.settle({ ...draft, offline: true }, g.s.outcomeDeadlineSec * 1000).catch(() => undefined);
      } catch (err) {
        this.state.forget(draft.requestId);
        return g.refuse(tap, `not-stored: ${errorCode(err)}`, 'exit', wallet.walletId);
      }
    }
    this.counts.offlineAccepted += 1;
    g.ctx.metrics.taps.inc({ result: 'offline-accepted' });
    g.ctx.link.event('offline-accept', `${wallet.walletId} ${fare.minor} ${fare.currency} ${draft.requestId}`);
    await g.admit(tap, 'exit', wallet.walletId, `offline ${fare.minor} ${fare.currency}`, (p) => {
      after(p);
      this.state.update(draft.requestId, { passage: p === 'passed' ? 'passed' : 'not-passed' });
      this.finishOffline(draft.requestId);
    }, clear);
  }

  /** A verified result for a request this gate already decided on without it. */
  private late(r: SettleResult): void {
    const d = this.state.decided(r.requestId);
    if (d === undefined) return; // answered in time: the tap itself acts on it
    const { ctx } = this.g;
    if (d.how === 'refused') {
      if (r.status === 'approved') {
        this.counts.lateRefunds += 1;
        this.outcome(r.requestId, 'not-passed', 'approved after the gate had refused');
      }
      this.state.forget(r.requestId);
      return;
    }
    if (r.status === 'declined') {
      if (d.passage !== 'not-passed') {
        this.state.deny(d.walletId, ctx.clock(), ctx.link.outbox.configVersion);
        this.counts.denyListed += 1;
        ctx.link.event('deny-listed', `${d.walletId}: offline debt ${d.amountMinor} declined (${r.reason ?? 'no reason'})`);
        ctx.log.warn({ walletId: d.walletId, requestId: r.requestId, reason: r.reason }, 'offline debt declined: wallet deny-listed on this gate');
      }
      this.state.forget(r.requestId);
      return;
    }
    this.state.update(r.requestId, { result: 'approved' });
    this.finishOffline(r.requestId);
  }

  /** An approved offline debt whose passage is known gets its outcome, and is done. */
  private finishOffline(requestId: string): void {
    const d = this.state.decided(requestId);
    if (d?.result !== 'approved' || d.passage === undefined) return;
    this.counts.offlineSettled += 1;
    this.outcome(requestId, d.passage, 'offline acceptance settled');
    this.state.forget(requestId);
  }

  private outcome(settleRequestId: string, outcome: OutcomeKind, detail: string): void {
    const { ctx } = this.g;
    ctx.metrics.outcomes.inc({ outcome });
    try {
      ctx.link.outcome({ settleRequestId, outcome, detail }).catch(() => undefined);
    } catch (err) {
      // Outbox full: the core's outcome deadline refunds by itself (a missing outcome is a not-passed).
      ctx.log.error({ settleRequestId, outcome, err: errorCode(err) }, 'outcome not stored');
    }
  }
}
