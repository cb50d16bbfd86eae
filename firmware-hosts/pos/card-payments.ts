/**
 * The purchase terminal's card payment mode (claim 36, issue 7; `mode: card`):
 * once the amount is known and a phone is in the field, the terminal reads
 * the phone's payment card with GET CARD (the phone asks its user first),
 * asks for the PIN above `card.pinAboveMinor`, sends a card authorization on
 * the `card` channel through the outbox (sealed on disk; the same requestId
 * on every resend, also after a restart) and waits, bounded, for the verified
 * card-result. It shows approved or declined.
 *
 * A sale the terminal will not complete is reversed on the same channel:
 * no answer in time, or a 91/96 that decided nothing (`timeout`: the
 * terminal does not resend; the customer pays again), the customer cancels while it waits
 * (`cancelled`), an approval it cannot act on — another amount, or one that
 * comes after it gave up or after a restart (`not-delivered`). The reversal
 * is written to the outbox before the request is withdrawn, so a crash in
 * between leaves both to be sent, never neither.
 *
 * The card request's outbox entry stays until the terminal has concluded the
 * sale (link.withdraw): one found at start was never concluded, and is reversed.
 */
import type { NfcReader } from '../../hardware/nfc-reader.ts';
import type { CardData } from '../../protocol/card-data.ts';
import { formatMoney } from '../../protocol/index.ts';
import type { DeviceReversalReason, Purchase } from '../../protocol/index.ts';
import type { HostContext } from '../runtime/host.ts';
import type { StateMachine } from '../runtime/machine.ts';
import type { CardAnswer } from '../runtime/card-messages.ts';
import { errorCode, releaseQuietly } from '../runtime/tap.ts';
import type { Tap } from '../runtime/tap.ts';
import type { InputQueue } from './inputs.ts';
import type { PosState } from './pos-host.ts';
import type { PosSettings } from './settings.ts';

/** How the sale ended, for the display and /healthz. */
export type CardSaleEnd = { status: 'approved' | 'declined' | 'no-answer' | 'failed'; detail: string; text: string };

/** Slices of the wait for the card answer, so a cancel keyed meanwhile is seen within this. */
const answerSliceMs = 200;
/** Authorizations remembered as concluded or reversed, so a second delivery of their answer is not reversed again: an hour of a busy till. */
export const cardIdsKeptMax = 256;

const pinPattern = /^\d{4,12}$/;

export class CardPayments {
  /** The authorization the terminal is waiting for now. */
  current: string | null = null;
  reversals = 0;
  private readonly settled = new Set<string>();

  constructor(
    private readonly ctx: HostContext<PosSettings>,
    private readonly machine: StateMachine<PosState>,
    private readonly nfc: NfcReader,
    private readonly inputs: InputQueue,
    private readonly show: (text: string) => void,
  ) {}

  /** At start: every card request still in the outbox belongs to a sale that was never concluded (a crash, a power cut): reversed. */
  recover(): void {
    for (const entry of this.ctx.link.outbox.pending()) if (entry.kind === 'card') this.reverse(entry.id, 'not-delivered', 'found pending at start');
    for (const id of this.ctx.link.outbox.unreadableSealed) this.reverse(id, 'not-delivered', 'pending at start, sealed under another device key');
  }

  /** A verified card answer nobody waits for: an approval the terminal did not hand anything over for is reversed. */
  onLateAnswer(answer: CardAnswer): void {
    if (answer.kind !== 'card-result' || !answer.value.approved) return;
    const id = answer.value.requestId;
    if (id === this.current || this.settled.has(id)) return;
    this.ctx.link.event('info', `late card approval ${id}: not handed over, reversed`);
    this.reverse(id, 'not-delivered', 'late approval');
  }

  /** One card sale from the phone in the field to the result to show. */
  async pay(tap: Tap, purchase: Purchase, requestId: string): Promise<CardSaleEnd> {
    const card = this.ctx.settings.card;
    let data: CardData;
    try {
      this.show('HOLD PHONE - reading card');
      data = await tap.wallet.getCard(card.index);
    } catch (err) {
      const code = errorCode(err);
      this.ctx.link.event('error', `card not read: ${code}`);
      this.machine.to('showing', code);
      return { status: 'failed', detail: code, text: `NOT PAID - card not read ${code.replace('TS_ERR_', '')}` };
    } finally {
      await releaseQuietly(this.nfc);
    }
    let pin: string | null = null;
    if (card.pinAboveMinor !== null && purchase.amount.minor > card.pinAboveMinor) {
      this.machine.to('entering-pin');
      pin = await this.readPin();
      if (pin === null) {
        this.machine.to('showing', 'no PIN');
        return { status: 'failed', detail: 'no-pin', text: 'NOT PAID - no PIN' };
      }
    }
    this.machine.to('settling', 'card');
    this.show('PROCESSING CARD');
    return this.authorize(requestId, purchase, data, pin);
  }

  private async authorize(requestId: string, purchase: Purchase, data: CardData, pin: string | null): Promise<CardSaleEnd> {
    let waiting: Promise<CardAnswer>;
    try {
      waiting = this.ctx.link.card({
        requestId, card: data, ...(pin !== null ? { pin } : {}), amount: purchase.amount, mcc: this.ctx.settings.card.mcc, article: purchase.article,
      }, this.ctx.settings.card.timeoutMs);
    } catch (err) {
      const code = errorCode(err);
      this.ctx.link.event('error', `card request not written: ${code}`);
      return { status: 'failed', detail: code, text: code === 'TS_ERR_OUTBOX_FULL' ? 'OUT OF SERVICE - outbox full' : `NOT PAID - ${code.replace('TS_ERR_', '')}` };
    }
    this.current = requestId;
    waiting.catch(() => undefined);
    const got = await this.waitOrCancel(waiting);
    this.current = null;
    if (got === 'cancelled') {
      this.reverse(requestId, 'cancelled', 'cancelled at the terminal');
      return { status: 'failed', detail: 'cancelled', text: 'CANCELLED - card reversed' };
    }
    if (got instanceof Error) {
      const code = errorCode(got);
      // No verified answer in time: whatever the gateway decided, nothing is handed over, so it is undone.
      if (code === 'TS_ERR_LINK_TIMEOUT') this.reverse(requestId, 'timeout', 'no answer in time');
      return { status: 'no-answer', detail: code, text: 'NOT PAID - no answer, try again' };
    }
    return this.conclude(requestId, purchase, got);
  }

  /** The verified answer to the sale in progress: only an approval of the sale's amount is handed over. */
  private conclude(requestId: string, purchase: Purchase, answer: CardAnswer): CardSaleEnd {
    if (answer.kind === 'card-error') {
      this.finish(requestId);
      this.ctx.link.event('error', `card request refused: ${answer.value.code}: ${answer.value.detail}`);
      return { status: 'failed', detail: answer.value.code, text: `CARD REFUSED ${answer.value.code.replace('TS_ERR_', '')}` };
    }
    if (answer.kind !== 'card-result') {
      this.finish(requestId);
      return { status: 'failed', detail: 'unexpected-answer', text: 'NOT PAID - unexpected answer' };
    }
    const r = answer.value;
    if (!r.approved) {
      // 91, or a 96 that decided nothing for sure: the terminal does not send this id again, so it says so now rather than leaving it to the gateway's grace period.
      if (r.source === 'gateway' && r.gatewayReason !== 'capture-refused' && r.gatewayReason !== 'reversed') this.reverse(requestId, 'timeout', `answered ${r.responseCode}; not sent again`);
      else this.finish(requestId);
      return { status: 'declined', detail: r.responseCode, text: `DECLINED ${r.responseCode} ${r.responseText}`.slice(0, 60) };
    }
    if (r.amount.minor !== purchase.amount.minor || r.amount.currency !== purchase.amount.currency) {
      this.reverse(requestId, 'not-delivered', 'approved amount differs from the sale');
      return { status: 'failed', detail: 'amount-mismatch', text: 'NOT PAID - amount mismatch' };
    }
    this.finish(requestId);
    return { status: 'approved', detail: r.approvalCode ?? 'approved', text: `APPROVED ${formatMoney(r.amount.minor, r.amount.currency)} ${r.card.masked}` };
  }

  /** The sale is concluded: its request leaves the outbox and a later delivery of its answer is left alone. */
  private finish(requestId: string): void {
    this.remember(requestId);
    this.ctx.link.withdraw(requestId);
  }

  /** The answer, an Error (timeout, link closed), or 'cancelled' when the cancel code is keyed first. */
  private async waitOrCancel(waiting: Promise<CardAnswer>): Promise<CardAnswer | Error | 'cancelled'> {
    const outcome = waiting.then((a) => a, (err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const slice = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), answerSliceMs)));
      const got = await Promise.race([outcome, slice]);
      clearTimeout(timer);
      if (got !== null) return got;
      if (this.inputs.take(this.ctx.settings.codes.cancel)) return 'cancelled';
    }
  }

  /** The next code that is a PIN, within pinTimeoutMs; null on cancel or timeout. Codes that are not a PIN are refused on the display. */
  private async readPin(): Promise<string | null> {
    this.show('ENTER PIN then Enter');
    const until = this.ctx.clock() + this.ctx.settings.card.pinTimeoutMs;
    while (this.ctx.clock() < until) {
      const item = await this.inputs.next(Math.min(answerSliceMs * 5, Math.max(1, until - this.ctx.clock())));
      if (item === null || !('code' in item)) continue;
      if (item.code === this.ctx.settings.codes.cancel) return null;
      if (pinPattern.test(item.code)) return item.code;
      this.show('PIN is 4 to 12 digits - ENTER PIN');
    }
    return null;
  }

  /**
   * Undoes an authorization: the reversal is made durable first, then the
   * request is withdrawn (never resent). A reversal that cannot be written
   * (outbox full) leaves the request pending: its answer comes back as a
   * late one and is reversed then, or at the next start.
   */
  private reverse(authorizationId: string, reason: DeviceReversalReason, why: string): void {
    this.remember(authorizationId);
    try {
      const { answer } = this.ctx.link.cardReversal({ authorizationId, reason });
      answer.catch(() => undefined);
      this.ctx.link.withdraw(authorizationId);
      this.reversals += 1;
      this.ctx.log.info({ authorizationId, reason, why }, 'card sale reversed');
    } catch (err) {
      this.settled.delete(authorizationId);
      this.ctx.log.error({ authorizationId, reason, err: errorCode(err) }, 'card reversal not written');
      this.ctx.link.event('error', `${errorCode(err)}: card reversal of ${authorizationId} not written`);
    }
  }

  private remember(id: string): void {
    this.settled.add(id);
    if (this.settled.size > cardIdsKeptMax) this.settled.delete(this.settled.values().next().value!);
  }
}
