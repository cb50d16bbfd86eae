/**
 * The ticket kiosk (issue 5, claims 15–16 and 34): a customer chooses a
 * product — a ticket or e-money — (code reader/keypad, or the station through
 * choose()), taps the phone, the phone authorizes the purchase, the kiosk
 * settles with the product's ticket or e-money spec, checks the issuer-signed
 * document of a verified `approved` result against the issuer keys of its
 * retained config, and writes it to the phone (PUT TICKET / PUT EMONEY).
 *
 * Outcomes go through the outbox, so they survive a reboot: `*-delivered`
 * (the phone took it), `*-retrievable` (the phone left or refused the write,
 * or a late approval: the wallet API has it), `vend-failed` (an approved
 * ticket that does not verify: the core refunds). Which one when:
 * hand-over.ts and late-sales.ts. A decline writes nothing and sends no
 * outcome (it is final already).
 */
import type { NfcReader } from '../../hardware/nfc-reader.ts';
import { formatMoney, limits, uuidv7 } from '../../protocol/index.ts';
import type { DeviceOutput, SettleResult, WalletAuth } from '../../protocol/index.ts';
import { RuntimeError } from '../runtime/errors.ts';
import type { HostContext, HostProgram } from '../runtime/host.ts';
import { StateMachine, bounded } from '../runtime/machine.ts';
import type { MachineTable } from '../runtime/machine.ts';
import { deviceNonce, errorCode, isTap, nextTap, releaseQuietly } from '../runtime/tap.ts';
import type { Tap } from '../runtime/tap.ts';
import { handOver } from './hand-over.ts';
import type { KioskOutcome } from './hand-over.ts';
import { LateSales } from './late-sales.ts';
import { expectationFor, findProduct, isEmoneyProduct, kioskProducts, saleSpec } from './products.ts';
import type { KioskProduct } from './products.ts';
import type { KioskSettings } from './settings.ts';

export const kioskStates = ['idle', 'awaiting-tap', 'authorizing', 'settling', 'writing', 'out-of-service'] as const;
export type KioskState = (typeof kioskStates)[number];

export const kioskTable: MachineTable<KioskState> = {
  idle: ['awaiting-tap', 'out-of-service'],
  'awaiting-tap': ['idle', 'authorizing', 'out-of-service'],
  authorizing: ['settling', 'idle'],
  settling: ['writing', 'idle'],
  writing: ['idle'],
  'out-of-service': ['idle'],
};

export type { KioskOutcome };
export type ChooseResult = { ok: true; product: KioskProduct } | { ok: false; why: 'unknown-product' | 'busy' | 'out-of-service' };

/** A sale needs two outbox entries: its settle request and its outcome. With less room it is not started. */
const saleOutboxEntries = 2;
/** Shown products (slots) on the retained state; the dashboard lists a kiosk's menu, not a whole catalog. */
const shownProductsMax = 16;
const saleStates: ReadonlySet<KioskState> = new Set(['authorizing', 'settling', 'writing']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class KioskProgram implements HostProgram {
  readonly machine: StateMachine<KioskState>;
  /** Figures for /healthz and the tests. */
  readonly counts = { delivered: 0, retrievable: 0, refunded: 0, declined: 0, timedOut: 0, lateAnswers: 0, refusedTaps: 0, outcomesAcked: 0, errors: 0 };
  private readonly nfc: NfcReader;
  private product: KioskProduct | null = null;
  private choiceUntil = 0;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  /** The settle request of the sale in progress: its result is handled by the sale, not as a late answer. */
  private currentSettle: string | null = null;
  private readonly late = new LateSales();

  constructor(private readonly ctx: HostContext<KioskSettings>) {
    if (ctx.parts.nfc === null) throw new RuntimeError('TS_ERR_DEVICE_PARTS', 'a kiosk needs an NFC reader: add parts.nfc to the device file');
    this.nfc = ctx.parts.nfc;
    this.machine = new StateMachine('kiosk', kioskTable, 'idle', ctx.log, ctx.clock);
    // Registered before the link can deliver anything: results for entries restored from the outbox.
    this.late.restore(ctx.link.outbox.pending());
    ctx.link.on('result', this.onResult);
    ctx.link.on('config', this.onConfig);
  }

  async start(): Promise<void> {
    const reader = this.ctx.parts.codeReader;
    if (reader !== null) {
      reader.on('code', this.onCode);
      reader.on('rejected', this.onRejected);
      reader.on('fault', this.onReaderFault);
      await reader.start();
    }
    this.running = true;
    this.showMenu();
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    const reader = this.ctx.parts.codeReader;
    reader?.off('code', this.onCode);
    reader?.off('rejected', this.onRejected);
    reader?.off('fault', this.onReaderFault);
    const ended = await bounded('kiosk sale to end', this.loopDone, this.ctx.settings.stopWaitMs);
    if (!ended.ok) this.ctx.log.warn({ state: this.machine.state }, 'kiosk stopped with a sale in progress; its entries stay in the outbox');
    this.ctx.link.off('result', this.onResult);
    this.ctx.link.off('config', this.onConfig);
  }

  /** The customer (keypad, code reader or the station) chooses a product by slot label or article id. */
  choose(code: string): ChooseResult {
    if (this.blockers().length > 0) {
      this.show(`Out of service: ${this.blockers().join(', ')}`);
      return { ok: false, why: 'out-of-service' };
    }
    // The faults have cleared but the loop has not seen it yet.
    if (this.machine.state === 'out-of-service') this.machine.to('idle', 'faults cleared');
    const state = this.machine.state;
    if (state !== 'idle' && state !== 'awaiting-tap') return { ok: false, why: 'busy' };
    const product = findProduct(this.ctx.config(), code);
    if (product === null) {
      this.show(`No product "${code.trim().slice(0, 16)}". Choose again.`);
      return { ok: false, why: 'unknown-product' };
    }
    this.product = product;
    this.choiceUntil = this.ctx.clock() + this.ctx.settings.tapWaitMs;
    if (state === 'idle') this.machine.to('awaiting-tap', product.article);
    this.show(`${product.name} ${formatMoney(product.price.minor, product.price.currency)}: tap your phone`);
    this.wake?.();
    return { ok: true, product };
  }

  /** Forgets a choice that has not been paid for. */
  cancel(): void {
    if (this.machine.state !== 'awaiting-tap') return;
    this.product = null;
    this.machine.to('idle', 'cancelled');
    this.showMenu();
  }

  outputs(): DeviceOutput[] {
    const products = kioskProducts(this.ctx.config()).slice(0, shownProductsMax).map((p): DeviceOutput => ({
      name: (p.slot ?? p.article).slice(0, 32), kind: 'slot',
      state: `${p.name} ${formatMoney(p.price.minor, p.price.currency)}`.slice(0, limits.detailLengthMax),
    }));
    return [{ name: 'display', kind: 'display', state: this.ctx.parts.display.text || '-' }, ...products];
  }

  faults(): string[] {
    const f: string[] = [];
    const config = this.ctx.config();
    if (config === null) f.push('no-config');
    else {
      if (kioskProducts(config).length === 0) f.push('no-products');
      if ((config.keys?.issuer ?? []).length === 0) f.push('no-issuer-key');
    }
    const outbox = this.ctx.link.outbox;
    if (!outbox.isFull && outbox.limits.entriesMax - outbox.depth < saleOutboxEntries) f.push('outbox-no-room');
    return f;
  }

  healthy(): boolean {
    const s = this.ctx.settings;
    // A sale is bounded by its exchanges and its settle wait; a machine stuck past that is wedged.
    const saleMaxMs = s.settleTimeoutMs + 16 * s.exchangeTimeoutMs + 1_000;
    return this.running && !(saleStates.has(this.machine.state) && this.machine.inStateMs > saleMaxMs);
  }

  report(): Record<string, unknown> {
    return { product: this.product?.article ?? null, ...this.counts, lateAwaited: this.late.size };
  }

  // ---- the loop ---------------------------------------------------------

  /** What stops the kiosk selling: its faults and a full outbox. */
  private blockers(): string[] {
    return [...(this.ctx.link.outbox.isFull ? ['outbox-full'] : []), ...this.faults()];
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (err) {
        this.counts.errors += 1;
        this.ctx.log.error({ err, state: this.machine.state }, 'kiosk step failed; back to idle');
        this.ctx.link.event('error', `kiosk: ${errorCode(err)}`);
        this.currentSettle = null;
        this.product = null;
        await releaseQuietly(this.nfc);
        if (this.machine.state !== 'idle' && this.machine.can('idle')) this.machine.to('idle', errorCode(err));
        await sleep(this.ctx.settings.tapPollMs);
      }
    }
  }

  private async step(): Promise<void> {
    const { settings } = this.ctx;
    const blockers = this.blockers();
    if (blockers.length > 0) {
      if (this.machine.state !== 'out-of-service') {
        this.product = null;
        this.machine.to('out-of-service', blockers.join(', '));
        this.show(`Out of service: ${blockers.join(', ')}`);
      }
      await this.pause(settings.tapPollMs);
      return;
    }
    if (this.machine.state === 'out-of-service') {
      this.machine.to('idle', 'faults cleared');
      this.showMenu();
    }
    const product = this.product;
    if (this.machine.state !== 'awaiting-tap' || product === null) {
      await this.pause(settings.tapPollMs);
      return;
    }
    const left = this.choiceUntil - this.ctx.clock();
    if (left <= 0) {
      this.product = null;
      this.machine.to('idle', 'no phone in time');
      this.showMenu();
      return;
    }
    const tap = await nextTap(this.nfc, Math.min(left, settings.tapPollMs), { exchangeTimeoutMs: settings.exchangeTimeoutMs });
    if (tap === null) return;
    if (!isTap(tap)) {
      this.counts.refusedTaps += 1;
      this.ctx.metrics.taps.inc({ result: 'refused' });
      this.ctx.link.event('tap', `refused ${tap.refused}: ${tap.detail}`);
      this.show('Not a tapsettle wallet. Tap your phone.');
      return;
    }
    // The choice may have changed or been dropped while the reader waited.
    const chosen = this.product;
    if (!this.running || this.machine.state !== 'awaiting-tap' || chosen === null) {
      await releaseQuietly(this.nfc);
      return;
    }
    await this.sell(tap, chosen);
  }

  /** Waits up to `ms`, or until choose() or stop() wakes the loop. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  // ---- one sale ---------------------------------------------------------

  private async sell(tap: Tap, product: KioskProduct): Promise<void> {
    const { link, settings, metrics, deviceId } = this.ctx;
    const merchant = this.ctx.config()!.merchant; // blockers() refused a sale without a config
    const what = isEmoneyProduct(product) ? 'e-money' : 'ticket';
    this.product = null;
    link.event('tap', product.article);
    this.machine.to('authorizing', product.article);
    const purchase = { merchant, amount: product.price, article: product.article, quantity: 1 };
    let wallet: WalletAuth;
    try {
      wallet = await tap.wallet.authorizePurchase({ deviceId, purchase, deviceNonce: deviceNonce() });
    } catch (err) {
      await releaseQuietly(this.nfc);
      metrics.taps.inc({ result: 'refused' });
      link.event('error', `authorize: ${errorCode(err)}`);
      this.machine.to('idle', `not authorized: ${errorCode(err)}`);
      this.show(`Payment not authorized (${errorCode(err)}). Choose again.`);
      return;
    }
    const requestId = uuidv7();
    this.machine.to('settling', requestId);
    this.show('Paying...');
    this.currentSettle = requestId;
    const sentAt = performance.now();
    let result: SettleResult;
    try {
      result = await link.settle({ requestId, purchase, wallet, ...saleSpec(product, settings.outcomeDeadlineSec) }, settings.settleTimeoutMs);
    } catch (err) {
      // Before any await: a result arriving from now on is a late answer and must find its expectation.
      const code = errorCode(err);
      if (code === 'TS_ERR_LINK_TIMEOUT') this.late.expect(requestId, expectationFor(product, wallet.walletId));
      this.currentSettle = null;
      await releaseQuietly(this.nfc);
      metrics.taps.inc({ result: 'failed' });
      link.event('error', `settle ${requestId}: ${code}`);
      this.machine.to('idle', code);
      if (code === 'TS_ERR_LINK_TIMEOUT') {
        this.counts.timedOut += 1;
        this.show(`No answer yet. If it is paid, the ${what} will be in your wallet app.`);
      } else {
        this.show(code === 'TS_ERR_OUTBOX_FULL' ? 'Out of service: outbox full' : `Sale failed (${code}). Choose again.`);
      }
      return;
    }
    this.currentSettle = null;
    const roundTripMs = performance.now() - sentAt;
    if (result.status !== 'approved') {
      await releaseQuietly(this.nfc);
      this.counts.declined += 1;
      metrics.taps.inc({ result: 'declined' });
      this.machine.to('idle', `declined: ${result.reason ?? 'no reason'}`);
      this.show(`Declined: ${result.reason ?? 'no reason given'}`);
      return;
    }
    const issuerKeys = this.ctx.config()?.keys?.issuer ?? [];
    const done = await handOver(tap.wallet, product, wallet.walletId, result, issuerKeys, (id) => this.machine.to('writing', id));
    await releaseQuietly(this.nfc);
    if (done.error !== undefined) link.event('error', `${what} of ${requestId}: ${done.error}`);
    this.counts[done.count] += 1;
    metrics.taps.inc({ result: done.tap });
    if (done.tap === 'approved') {
      const totalMs = performance.now() - tap.seenAt;
      metrics.tapToResultSeconds.observe(totalMs / 1000);
      metrics.deviceOverheadSeconds.observe(Math.max(0, totalMs - roundTripMs) / 1000);
    }
    this.sendOutcome(requestId, done.outcome, done.detail);
    this.machine.to('idle', done.reason);
    this.show(done.display);
  }

  /** Sends an outcome through the outbox; the acknowledgement is awaited (bounded) off the customer's path. */
  private sendOutcome(settleRequestId: string, outcome: KioskOutcome, detail?: string): void {
    this.ctx.metrics.outcomes.inc({ outcome });
    try {
      this.ctx.link.outcome({ settleRequestId, outcome, ...(detail !== undefined ? { detail: detail.slice(0, limits.detailLengthMax) } : {}) }, this.ctx.settings.outcomeAckTimeoutMs).then(
        (ack) => {
          this.counts.outcomesAcked += 1;
          this.ctx.log.info({ settleRequestId, outcome, ack: ack.status }, 'outcome acknowledged');
        },
        (err: unknown) => this.ctx.log.warn({ settleRequestId, outcome, code: errorCode(err) }, 'outcome not acknowledged yet; it stays in the outbox'),
      );
    } catch (err) {
      // Only a full outbox (refused synchronously): the core refunds at the outcome deadline.
      this.counts.errors += 1;
      this.ctx.log.error({ settleRequestId, outcome, code: errorCode(err) }, 'outcome not recorded');
      this.ctx.link.event('error', `outcome ${outcome} of ${settleRequestId} not recorded: ${errorCode(err)}`);
    }
  }

  // ---- late answers -----------------------------------------------------

  /**
   * A verified result that is not the sale in progress: a sale that timed out
   * or one restored from the outbox. The phone is gone, so nothing is written;
   * an approval with a ticket that verifies is `ticket-retrievable` (the
   * customer was told it would be in the wallet app), one that does not is
   * `vend-failed` (refund); e-money is `emoney-retrievable` (late-sales.ts).
   * The link emits each answered entry once.
   */
  private readonly onResult = (r: SettleResult): void => {
    if (r.requestId === this.currentSettle) return;
    this.counts.lateAnswers += 1;
    const verdict = this.late.judge(r, this.ctx.config()?.keys?.issuer ?? []);
    if (verdict.outcome === null) {
      this.ctx.log.info({ requestId: r.requestId, reason: r.reason }, 'late answer: declined, nothing to do');
    } else {
      if (verdict.outcome === 'vend-failed') this.counts.refunded += 1;
      else this.counts.retrievable += 1;
      if (!verdict.verified) this.ctx.link.event('error', `late answer ${r.requestId}: ${verdict.why}`);
      this.sendOutcome(r.requestId, verdict.outcome, verdict.why);
    }
    this.ctx.link.event('info', `late answer ${r.requestId}: ${verdict.outcome ?? 'none'} (${verdict.why})`);
  };

  // ---- the code reader and the display ------------------------------------

  /** A new config may clear or raise a fault (the loop looks now) or change the menu (shown at once when idle). */
  private readonly onConfig = (): void => {
    if (this.machine.state === 'idle' && this.blockers().length === 0) this.showMenu();
    this.wake?.();
  };

  private readonly onCode = (code: string): void => {
    this.choose(code);
  };

  private readonly onRejected = (r: { code: string; message: string }): void => {
    this.ctx.link.event('error', `code reader: ${r.code}`);
    this.show('Could not read that code. Try again.');
  };

  private readonly onReaderFault = (err: Error): void => {
    this.ctx.log.error({ err }, 'code reader fault; choices through the station still work');
    this.ctx.link.event('error', `code reader fault: ${errorCode(err)}`);
  };

  private showMenu(): void {
    const products = kioskProducts(this.ctx.config());
    const codes = products.map((p) => p.slot ?? p.article);
    // The menu starts "Choose a ticket" either way: the station's simulated customer knows the menu by it.
    const emoney = products.some(isEmoneyProduct) ? ' or e-money' : '';
    this.show(codes.length > 0 ? `Choose a ticket${emoney}: ${codes.join(' ')}` : 'Nothing on sale');
  }

  private show(text: string): void {
    this.ctx.parts.display.show(text);
    this.ctx.log.info({ display: text }, 'display');
    this.ctx.refresh();
  }
}
