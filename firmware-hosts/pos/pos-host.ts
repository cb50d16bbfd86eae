/**
 * The purchase terminal (claims 8, 9, 12; DESIGN §7): an amount or articles
 * are keyed in or scanned, the phone authorizes the purchase, and either the
 * terminal sends the settling information (claim 8, `mode: terminal`) or the
 * phone sends it through the wallet API under a requestId the terminal chose
 * (claim 9, `mode: phone`); the terminal shows the verified result. Claim 12
 * (the result reaches the phone too) is the gateway's result stream. In
 * `mode: card` (claim 36) it pays with the phone's payment card instead
 * (card-payments.ts).
 *
 * Money waits in clearing (`outcomeDeadlineSec`) until the terminal reports
 * the goods handed over (outcome `dispensed`, sent when an approval is shown).
 * An approval that comes after the terminal gave up — a late answer, one
 * after a restart, a settle someone else sent naming this terminal — gets
 * `vend-failed` and the payer is refunded; unreported, the deadline does the same.
 */
import type { NfcReader } from '../../hardware/nfc-reader.ts';
import { formatMoney, uuidv7 } from '../../protocol/index.ts';
import type { DeviceOutput, Purchase, SettleResult, WalletAuth } from '../../protocol/index.ts';
import type { HostContext, HostProgram } from '../runtime/host.ts';
import { StateMachine } from '../runtime/machine.ts';
import type { MachineTable } from '../runtime/machine.ts';
import { RuntimeError } from '../runtime/errors.ts';
import { deviceNonce, errorCode, isTap, nextTap, releaseQuietly } from '../runtime/tap.ts';
import type { Tap } from '../runtime/tap.ts';
import { Basket, readCode } from './basket.ts';
import { CardPayments } from './card-payments.ts';
import type { CardAnswer } from '../runtime/card-messages.ts';
import { PosError } from './errors.ts';
import { InputQueue } from './inputs.ts';
import type { InputItem } from './inputs.ts';
import type { PosSettings } from './settings.ts';

export type PosState = 'idle' | 'entering' | 'waiting-tap' | 'authorizing' | 'entering-pin' | 'settling' | 'showing';

export const posTable: MachineTable<PosState> = {
  idle: ['entering'],
  entering: ['idle', 'waiting-tap'],
  'waiting-tap': ['authorizing', 'idle'],
  authorizing: ['settling', 'showing', 'entering-pin'],
  'entering-pin': ['settling', 'showing'],
  settling: ['showing'],
  showing: ['idle'],
};

/** How often an idle terminal looks up from its queue (to notice stop()); input wakes it at once. */
const idlePollMs = 1_000;
/** Slices of the wait for a phone, so a cancel keyed meanwhile is seen within this. */
const tapSliceMs = 200;
/** Sales remembered as settled and handed over, so a second delivery of their result is not refunded: an hour of a busy till. */
export const completedKeptMax = 256;
/** stop() waits this long for a sale in progress (a settle wait is bounded by settleTimeoutMs anyway). */
const stopWaitMs = 15_000;

export const displayTexts = {
  idle: 'READY - key in an amount or scan',
  outOfService: 'OUT OF SERVICE - outbox full',
  noConfig: 'OUT OF SERVICE - no config yet',
} as const;

export interface LastSale {
  requestId: string;
  purchase: Purchase;
  status: 'approved' | 'declined' | 'no-answer' | 'failed';
  detail: string;
}

type SaleEnd = { status: LastSale['status']; detail: string; text: string };

export class PosProgram implements HostProgram {
  readonly machine: StateMachine<PosState>;
  private readonly ctx: HostContext<PosSettings>;
  private readonly settings: PosSettings;
  private readonly nfc: NfcReader;
  private readonly inputs: InputQueue;
  private readonly basket: Basket;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private lastInputAt = 0;
  /** The requestId of the sale waiting for its result: its own waiter takes it. */
  private current: string | null = null;
  private readonly completed = new Set<string>();
  private last: LastSale | null = null;
  private refunds = 0;
  private readonly onStray = (r: SettleResult): void => this.strayResult(r);
  private readonly cards: CardPayments;
  private readonly onCardAnswer = (a: CardAnswer): void => this.cards.onLateAnswer(a);

  constructor(ctx: HostContext<PosSettings>) {
    this.ctx = ctx;
    this.settings = ctx.settings;
    if (ctx.parts.nfc === null) throw new RuntimeError('TS_ERR_DEVICE_PARTS', 'a purchase terminal needs an NFC reader: add parts.nfc to the device file');
    if (ctx.parts.codeReader === null) throw new RuntimeError('TS_ERR_DEVICE_PARTS', 'a purchase terminal needs a keypad or barcode reader: add parts.codeReader to the device file');
    this.nfc = ctx.parts.nfc;
    this.inputs = new InputQueue(ctx.parts.codeReader);
    this.basket = new Basket(this.settings);
    this.machine = new StateMachine<PosState>('pos', posTable, 'idle', ctx.log, ctx.clock);
    this.cards = new CardPayments(ctx, this.machine, this.nfc, this.inputs, (text) => this.show(text));
  }

  async start(): Promise<void> {
    // Before the first await, so before the link can connect and resend: a card request left pending is reversed and withdrawn, never sent again.
    this.cards.recover();
    this.inputs.attach();
    await this.ctx.parts.codeReader!.start();
    this.ctx.link.on('result', this.onStray);
    this.ctx.link.on('unmatched-result', this.onStray);
    this.ctx.link.on('card-answer', this.onCardAnswer);
    this.ctx.link.on('unmatched-card-answer', this.onCardAnswer);
    this.show(displayTexts.idle);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.inputs.detach();
    this.ctx.link.off('result', this.onStray);
    this.ctx.link.off('unmatched-result', this.onStray);
    this.ctx.link.off('card-answer', this.onCardAnswer);
    this.ctx.link.off('unmatched-card-answer', this.onCardAnswer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, stopWaitMs)))]);
    clearTimeout(timer);
    await this.ctx.parts.codeReader!.stop();
  }

  outputs(): DeviceOutput[] {
    return [{ kind: 'display', name: 'display', state: this.ctx.parts.display.text.slice(0, 64) || '(blank)' }];
  }

  faults(): string[] {
    return this.ctx.config() === null ? ['no-config'] : [];
  }

  healthy(): boolean {
    return !this.stopping;
  }

  report(): Record<string, unknown> {
    return {
      mode: this.settings.mode, basketLines: this.basket.lines.length, basketMinor: this.basket.totalMinor,
      lastSale: this.last, lateApprovalsRefunded: this.refunds, cardReversals: this.cards.reversals, inputsDropped: this.inputs.dropped, display: this.ctx.parts.display.text,
    };
  }

  get lastSale(): LastSale | null {
    return this.last;
  }

  private show(text: string): void {
    this.ctx.parts.display.show(text);
    this.ctx.refresh();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.step();
      } catch (err) {
        // A bug (an illegal transition) or a part that failed: fail closed — nothing is handed over, the basket is dropped.
        this.ctx.log.error({ err }, 'purchase terminal step failed; back to idle');
        this.ctx.link.event('error', `${errorCode(err)}: ${(err as Error).message}`);
        this.current = null;
        this.basket.clear();
        this.forceIdle();
      }
    }
  }

  /** Back to idle from wherever the failure left the machine, along allowed moves only. */
  private forceIdle(): void {
    const m = this.machine;
    if (m.state === 'authorizing' || m.state === 'entering-pin') m.to('showing', 'failure');
    if (m.state === 'settling') m.to('showing', 'failure');
    if (m.state !== 'idle') m.to('idle', 'failure');
    this.show(displayTexts.idle);
  }

  private async step(): Promise<void> {
    const entering = this.machine.state === 'entering';
    const waitMs = entering ? this.lastInputAt + this.settings.entryTimeoutMs - this.ctx.clock() : idlePollMs;
    const item = await this.inputs.next(Math.min(waitMs, idlePollMs));
    if (this.stopping) return;
    if (item === null) {
      if (entering && this.ctx.clock() - this.lastInputAt >= this.settings.entryTimeoutMs) {
        this.basket.clear();
        this.machine.to('idle', 'basket left alone');
        this.show(displayTexts.idle);
      }
      return;
    }
    this.lastInputAt = this.ctx.clock();
    await this.handle(item);
  }

  private refuse(code: string, detail: string): void {
    this.ctx.link.event('error', `${code}: ${detail}`);
    this.show(`REFUSED ${code.replace('TS_ERR_', '')}`);
  }

  private async handle(item: InputItem): Promise<void> {
    if ('rejected' in item) {
      this.refuse(item.rejected.code, item.rejected.message);
      return;
    }
    const config = this.ctx.config();
    const input = readCode(item.code, this.settings, config?.catalog ?? []);
    switch (input.kind) {
      case 'refused':
        this.refuse(input.error.code, input.error.message);
        return;
      case 'cancel':
        this.basket.clear();
        if (this.machine.state === 'entering') this.machine.to('idle', 'cancelled');
        this.show(displayTexts.idle);
        return;
      case 'line': {
        const refusal = this.basket.add(input.line);
        if (refusal !== null) {
          this.refuse(refusal.code, refusal.message);
          return;
        }
        if (this.machine.state === 'idle') this.machine.to('entering', 'first line');
        this.show(`${input.line.name.slice(0, 20)} | TOTAL ${formatMoney(this.basket.totalMinor, this.settings.currency)} | ${this.settings.codes.confirm} to pay`);
        return;
      }
      case 'confirm':
        await this.confirm();
    }
  }

  private async confirm(): Promise<void> {
    const config = this.ctx.config();
    if (config === null) {
      this.refuse('TS_ERR_POS_NO_CONFIG', 'no retained config yet');
      return;
    }
    if (this.ctx.link.outbox.isFull) {
      this.ctx.link.event('error', 'TS_ERR_OUTBOX_FULL: not selling until answers drain the outbox');
      this.show(displayTexts.outOfService);
      return;
    }
    const purchase = this.basket.purchase(config.merchant);
    if (purchase instanceof PosError) {
      this.refuse(purchase.code, purchase.message);
      return;
    }
    await this.sell(purchase);
  }

  /** One sale from "tap your phone" to the result shown and the terminal back at idle. */
  private async sell(purchase: Purchase): Promise<void> {
    const money = formatMoney(purchase.amount.minor, purchase.amount.currency);
    this.machine.to('waiting-tap', money);
    this.show(`PAY ${money} - tap phone`);
    const tap = await this.waitForTap();
    if (tap === null) {
      this.basket.clear();
      this.machine.to('idle', 'no phone, or cancelled');
      this.show(displayTexts.idle);
      return;
    }
    this.machine.to('authorizing');
    this.show('HOLD PHONE STILL');
    const requestId = uuidv7();
    this.current = requestId;
    const end = this.settings.mode === 'card' ? await this.cards.pay(tap, purchase, requestId) : await this.settle(tap, purchase, requestId);
    this.current = null;
    this.basket.clear();
    this.last = { requestId, purchase, status: end.status, detail: end.detail };
    this.ctx.metrics.taps.inc({ result: end.status === 'approved' ? 'approved' : end.status === 'declined' ? 'declined' : 'failed' });
    this.ctx.metrics.tapToResultSeconds.observe((performance.now() - tap.seenAt) / 1000);
    if (this.machine.state !== 'showing') this.machine.to('showing', end.status);
    this.show(end.text);
    await this.pause(this.settings.resultShowMs);
    const skipped = this.inputs.drain();
    if (skipped > 0) this.ctx.log.info({ skipped }, 'codes keyed during the sale dropped');
    this.machine.to('idle', 'next customer');
    this.show(displayTexts.idle);
  }

  /** A phone with the wallet applet, within tapTimeoutMs; null on timeout or a cancel code. Anything else in the field is let go. */
  private async waitForTap(): Promise<Tap | null> {
    const until = this.ctx.clock() + this.settings.tapTimeoutMs;
    while (!this.stopping && this.ctx.clock() < until) {
      if (this.inputs.take(this.settings.codes.cancel)) return null;
      const got = await nextTap(this.nfc, Math.min(tapSliceMs, Math.max(1, until - this.ctx.clock())));
      if (isTap(got)) return got;
      if (got !== null) this.ctx.link.event('error', `tap refused (${got.refused}): ${got.detail}`);
    }
    return null;
  }

  /** Authorization, then the settle by the terminal (claim 8) or by the phone (claim 9), then the verified result. */
  private async settle(tap: Tap, purchase: Purchase, requestId: string): Promise<SaleEnd> {
    const { link, deviceId } = this.ctx;
    const nonce = deviceNonce();
    const timeoutMs = this.settings.settleTimeoutMs;
    // Claim 9: wait before the phone learns the requestId, so its result cannot come unheard.
    const phoneResult = this.settings.mode === 'phone' ? link.waitForResult(requestId, timeoutMs) : null;
    phoneResult?.catch(() => undefined);
    let wallet: WalletAuth;
    try {
      wallet = this.settings.mode === 'phone'
        ? await tap.wallet.authorizePhoneSettle({ deviceId, purchase, deviceNonce: nonce, requestId, outcomeDeadlineSec: this.settings.outcomeDeadlineSec })
        : await tap.wallet.authorizePurchase({ deviceId, purchase, deviceNonce: nonce });
    } catch (err) {
      const code = errorCode(err);
      link.event('error', `authorization failed: ${code}: ${(err as Error).message}`);
      this.machine.to('showing', code);
      return { status: 'failed', detail: code, text: `NOT PAID - tap failed ${code.replace('TS_ERR_', '')}` };
    } finally {
      await releaseQuietly(this.nfc);
    }
    this.machine.to('settling', this.settings.mode);
    this.show('PROCESSING');
    const settledAt = performance.now();
    let result: SettleResult;
    try {
      result = phoneResult !== null
        ? await phoneResult
        : await link.settle({ requestId, purchase, wallet, outcomeDeadlineSec: this.settings.outcomeDeadlineSec }, timeoutMs);
    } catch (err) {
      const code = errorCode(err);
      link.event('error', `no result for ${requestId}: ${code}`);
      // A late approval is refunded (strayResult): nothing was handed over.
      return code === 'TS_ERR_OUTBOX_FULL'
        ? { status: 'failed', detail: code, text: displayTexts.outOfService }
        : { status: 'no-answer', detail: code, text: 'NOT PAID - no answer, try again' };
    }
    this.ctx.metrics.deviceOverheadSeconds.observe(Math.max(0, (settledAt - tap.seenAt) / 1000));
    return this.conclude(result, purchase);
  }

  /** A verified result for the sale in progress: approved (and the right amount) is handed over; anything else is not. */
  private conclude(result: SettleResult, purchase: Purchase): SaleEnd {
    const money = formatMoney(purchase.amount.minor, purchase.amount.currency);
    const amount = result.amount;
    if (result.status === 'approved' && amount !== undefined && (amount.minor !== purchase.amount.minor || amount.currency !== purchase.amount.currency)) {
      this.reportOutcome(result.requestId, 'vend-failed', 'approved amount differs from the sale; not handed over');
      return { status: 'failed', detail: 'amount-mismatch', text: 'NOT PAID - amount mismatch' };
    }
    if (result.status !== 'approved') {
      const reason = result.reason ?? 'declined';
      return { status: 'declined', detail: reason, text: `DECLINED ${reason}` };
    }
    this.remember(result.requestId);
    this.reportOutcome(result.requestId, 'dispensed', 'handed over at the purchase terminal');
    return { status: 'approved', detail: 'approved', text: `APPROVED ${money}` };
  }

  /** A verified result that is not the sale in progress: an approval nobody was handed goods for is refunded. */
  private strayResult(result: SettleResult): void {
    if (result.requestId === this.current || result.status !== 'approved' || this.completed.has(result.requestId)) return;
    this.remember(result.requestId);
    this.refunds += 1;
    this.ctx.link.event('info', `late approval ${result.requestId}: not handed over, refunded`);
    this.reportOutcome(result.requestId, 'vend-failed', 'late result: the terminal had given up; not handed over');
  }

  private remember(requestId: string): void {
    this.completed.add(requestId);
    if (this.completed.size > completedKeptMax) this.completed.delete(this.completed.values().next().value!);
  }

  /** Durable (outbox) and resent until acknowledged; the ack is not waited for here. */
  private reportOutcome(settleRequestId: string, outcome: 'dispensed' | 'vend-failed', detail: string): void {
    try {
      this.ctx.link.outcome({ settleRequestId, outcome, detail }).catch((err: unknown) => {
        this.ctx.log.warn({ settleRequestId, outcome, err: errorCode(err) }, 'outcome not yet acknowledged; it stays in the outbox');
      });
      this.ctx.metrics.outcomes.inc({ outcome });
    } catch (err) {
      // The outbox is full: the outcome deadline returns the money to the payer anyway.
      this.ctx.log.error({ settleRequestId, outcome, err: errorCode(err) }, 'outcome not written');
      this.ctx.link.event('error', `${errorCode(err)}: outcome ${outcome} for ${settleRequestId} not written`);
    }
  }

  private async pause(ms: number): Promise<void> {
    const until = this.ctx.clock() + ms;
    while (!this.stopping && this.ctx.clock() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - this.ctx.clock())));
  }
}
