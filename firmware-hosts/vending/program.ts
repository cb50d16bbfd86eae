/**
 * The vending machine (issue 5, claims 10, 13, 14): the customer types a slot
 * code on the keypad, the phone shows the article (AUTHORIZE PURCHASE carries
 * it) and consents, the host settles, and only on a verified `approved` does
 * the slot's spiral turn. The drop sensor must see the article before the
 * deadline: `dispensed`, else `vend-failed` and the core refunds. Restriction
 * flags of the catalog item (cooling-off, eligibility) go into the request.
 *
 * Late results: an approval that arrives when no customer waits for it (the
 * wait timed out and the customer was told to try again, or the host
 * restarted with the request in its outbox) never turns a spiral: the host
 * answers it with `vend-failed`, so the money goes back.
 */
import type { SettleResult } from '../../protocol/index.ts';
import type { SettleDraft } from '../runtime/bodies.ts';
import { formatMoney, reasonText, uuidv7 } from '../../protocol/index.ts';
import type { DigitalInput } from '../../hardware/digital-input.ts';
import type { NfcReader } from '../../hardware/nfc-reader.ts';
import type { CodeReader } from '../../hardware/code-reader.ts';
import type { HostContext, HostProgram } from '../runtime/host.ts';
import { StateMachine, bounded } from '../runtime/machine.ts';
import { requirePart } from '../runtime/parts.ts';
import { deviceNonce, errorCode, isTap, nextTap, releaseQuietly } from '../runtime/tap.ts';
import type { Tap } from '../runtime/tap.ts';
import { CodeInbox } from './code-inbox.ts';
import { vend } from './dispense.ts';
import { SlotBook, refusalText } from './slots.ts';
import type { CatalogItem } from './slots.ts';
import { checkParts, vendingOutputs } from './parts-check.ts';
import type { VendingSettings } from './settings.ts';

export type VendingState = 'idle' | 'out-of-service' | 'chosen' | 'authorizing' | 'settling' | 'dispensing' | 'reporting';

export const vendingTable = {
  idle: ['chosen', 'out-of-service'],
  'out-of-service': ['idle'],
  chosen: ['authorizing', 'idle'],
  authorizing: ['settling', 'idle'],
  settling: ['dispensing', 'reporting', 'idle'],
  dispensing: ['reporting'],
  reporting: ['idle'],
} as const satisfies Record<VendingState, readonly VendingState[]>;

/** While idle, the loop looks at its faults at least this often. */
export const idlePollMs = 500;
/** The tap wait is taken in slices this long, so a stop is not held up by a customer who walked away. */
export const tapSliceMs = 250;

export interface LastSale {
  requestId: string;
  slot: string;
  article: string;
  status: 'approved' | 'declined' | 'no-answer';
  reason?: string;
  outcome?: 'dispensed' | 'vend-failed';
  deferredUntil?: number;
}

export class VendingProgram implements HostProgram {
  readonly machine: StateMachine<VendingState>;
  readonly slots: SlotBook;
  private readonly s: VendingSettings;
  private readonly nfc: NfcReader;
  private readonly keypad: CodeReader;
  private readonly drop: DigitalInput;
  private readonly door: DigitalInput | null;
  private readonly inbox = new CodeInbox();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private loopError: unknown = null;
  /** The settle request a customer is waiting for now; any other approval is late. */
  private awaiting: string | null = null;
  private last: LastSale | null = null;
  private lateRefunds = 0;
  private timing = { tapToSendMs: 0, resultAt: 0 };
  private readonly onCode = (code: string) => this.inbox.push(code.trim().toUpperCase());
  private readonly onResult = (r: SettleResult) => this.lateResult(r);
  private readonly onDoor = (open: boolean) => this.doorMoved(open);

  constructor(private readonly ctx: HostContext<VendingSettings>) {
    this.s = ctx.settings;
    const parts = checkParts(ctx.parts, this.s);
    this.nfc = parts.nfc;
    this.keypad = parts.keypad;
    this.drop = parts.drop;
    this.door = parts.door;
    this.slots = new SlotBook(this.s);
    this.machine = new StateMachine<VendingState>('vending', vendingTable, 'idle', ctx.log, ctx.clock);
    // Registered before the link's first connect: answers to entries restored from the outbox are never missed.
    ctx.link.on('result', this.onResult);
    ctx.link.on('config', () => {
      // A new catalog may end 'no-config': the loop looks again at once.
      this.inbox.wake();
      ctx.refresh();
    });
  }

  async start(): Promise<void> {
    this.keypad.on('code', this.onCode);
    this.door?.on('change', this.onDoor);
    await this.keypad.start();
    this.running = true;
    this.loopDone = this.loop().catch((err: unknown) => {
      // A bug (an illegal transition): relays are at rest (vend() closes them); the watchdog sees the host unhealthy.
      this.loopError = err;
      this.ctx.log.error({ err }, 'vending loop stopped');
      this.ctx.link.event('error', `vending loop stopped: ${errorCode(err)}`);
      this.ctx.parts.display.show('Out of service.');
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.inbox.wake();
    const s = this.s;
    await bounded('the sale in progress', this.loopDone, s.settleTimeoutMs + s.dropDeadlineMs + s.outcomeAckTimeoutMs + tapSliceMs);
    this.keypad.off('code', this.onCode);
    this.door?.off('change', this.onDoor);
    this.ctx.link.off('result', this.onResult);
    for (const code of this.slots.codes) this.ctx.parts.relays.get(this.s.slots[code]!.relay)?.close();
  }

  faults(): string[] {
    const f: string[] = [];
    if (this.ctx.config() === null) f.push('no-config');
    if (this.slots.allDisabled()) f.push('all-slots-disabled');
    if (this.loopError !== null) f.push('program-stopped');
    return f;
  }

  healthy(): boolean {
    const s = this.s;
    const longestStateMs = s.tapTimeoutMs + s.settleTimeoutMs + s.dropDeadlineMs + s.outcomeAckTimeoutMs;
    const waiting = this.machine.state === 'idle' || this.machine.state === 'out-of-service';
    return this.loopError === null && (waiting || this.machine.inStateMs <= longestStateMs);
  }

  outputs() {
    return vendingOutputs(this.ctx.parts, this.s, this.drop, this.door, this.slots.outputs(this.ctx.config()));
  }

  report(): Record<string, unknown> {
    return { slots: this.slots.report(), lastSale: this.last, lateRefunds: this.lateRefunds, codesDropped: this.inbox.dropped };
  }

  // ---- the sale loop -------------------------------------------------------

  private async loop(): Promise<void> {
    this.ctx.parts.display.show('Choose a slot.');
    while (this.running) {
      const stopped = [...this.faults(), ...(this.ctx.link.outbox.isFull ? ['outbox-full'] : [])];
      if (stopped.length > 0) {
        if (this.machine.state !== 'out-of-service') {
          this.machine.to('out-of-service', stopped.join(', '));
          this.ctx.parts.display.show(`Out of service (${stopped.join(', ')}).`);
        }
        await this.inbox.next(idlePollMs);
        continue;
      }
      if (this.machine.state === 'out-of-service') {
        this.machine.to('idle', 'faults cleared');
        this.ctx.parts.display.show('Choose a slot.');
      }
      this.inbox.accept(true);
      const code = await this.inbox.next(idlePollMs);
      this.inbox.accept(false);
      if (code === null || !this.running) continue;
      try {
        await this.sell(code);
      } catch (err) {
        // A reader or keypad fault ends this sale (relays at rest, nothing settled unless a result came); a bug stops the loop.
        if (errorCode(err) === 'TS_ERR_MACHINE_TRANSITION') throw err;
        this.ctx.log.error({ err, slot: code }, 'sale ended by an error');
        this.ctx.link.event('error', `sale of ${code} ended: ${errorCode(err)}`);
        await releaseQuietly(this.nfc);
      }
      if (this.machine.state !== 'idle') this.machine.to('idle');
      this.ctx.parts.display.show('Choose a slot.');
    }
  }

  private async sell(code: string): Promise<void> {
    const offer = this.slots.offer(code, this.ctx.config());
    if (!offer.ok) {
      this.ctx.log.info({ slot: code, why: offer.why }, 'choice refused');
      this.ctx.link.event('info', `slot ${code} refused: ${offer.why}`);
      await this.say(refusalText[offer.why](code));
      return;
    }
    const { item } = offer;
    this.machine.to('chosen', code);
    this.ctx.parts.display.show(`${code} ${item.name} ${formatMoney(item.price.minor, item.price.currency)}. Tap your phone.`);
    const tap = await this.waitForTap();
    if (tap === null) return;
    this.machine.to('authorizing');
    const requestId = uuidv7();
    const draft = await this.authorize(tap, requestId, item);
    if (draft === null) return;
    this.machine.to('settling');
    const result = await this.settle(tap, draft, code, item);
    if (result === null) return;
    await this.deliver(result, code, offer.relay, item);
  }

  private async waitForTap(): Promise<Tap | null> {
    const until = this.ctx.clock() + this.s.tapTimeoutMs;
    while (this.running && this.ctx.clock() < until) {
      const t = await nextTap(this.nfc, Math.min(tapSliceMs, Math.max(1, until - this.ctx.clock())));
      if (t === null) continue;
      if (isTap(t)) return t;
      this.ctx.metrics.taps.inc({ result: 'refused' });
      this.ctx.link.event('tap', `refused ${t.refused}: ${t.detail}`);
      this.ctx.parts.display.show('That is not a tapsettle wallet. Tap your phone.');
    }
    await this.say(this.running ? 'No phone seen. Choose again.' : 'Out of service.');
    return null;
  }

  /** AUTHORIZE PURCHASE: the phone shows the article and price and signs them. Null when it did not. */
  private async authorize(tap: Tap, requestId: string, item: CatalogItem) {
    const config = this.ctx.config()!;
    const purchase = { merchant: config.merchant, amount: item.price, article: item.article, quantity: 1 };
    try {
      const wallet = await tap.wallet.authorizePurchase({ deviceId: this.ctx.deviceId, purchase, deviceNonce: deviceNonce() });
      return {
        requestId, purchase, wallet,
        ...(item.restrictions !== undefined ? { restrictions: item.restrictions } : {}),
        outcomeDeadlineSec: this.s.outcomeDeadlineSec,
      };
    } catch (err) {
      const code = errorCode(err);
      this.ctx.metrics.taps.inc({ result: 'failed' });
      this.ctx.link.event('error', `authorize failed: ${code}`);
      // 6985 is the customer saying no on the phone (or a wallet whose counter is spent).
      await this.say(code === 'TS_ERR_APPLET_CONDITIONS' ? 'Cancelled on the phone. Nothing charged.' : 'Phone moved away. Nothing charged. Try again.');
      return null;
    } finally {
      await releaseQuietly(this.nfc);
    }
  }

  /** Sends the request and waits (bounded) for its verified result. Null when there is none to act on. */
  private async settle(tap: Tap, draft: SettleDraft, slot: string, item: CatalogItem): Promise<SettleResult | null> {
    this.ctx.parts.display.show('Paying...');
    this.timing = { tapToSendMs: performance.now() - tap.seenAt, resultAt: 0 };
    this.awaiting = draft.requestId;
    try {
      const result = await this.ctx.link.settle(draft, this.s.settleTimeoutMs);
      this.timing.resultAt = performance.now();
      this.ctx.metrics.tapToResultSeconds.observe((this.timing.resultAt - tap.seenAt) / 1000);
      return result;
    } catch (err) {
      const code = errorCode(err);
      this.last = { requestId: draft.requestId, slot, article: item.article, status: 'no-answer', reason: code };
      this.ctx.metrics.taps.inc({ result: 'failed' });
      this.ctx.link.event('error', `settle ${draft.requestId}: ${code}`);
      // A timeout leaves the request in the outbox: if it is approved later, lateResult() refunds it.
      await this.say(code === 'TS_ERR_OUTBOX_FULL' ? 'Out of service (outbox full). Nothing charged.' : 'No answer. Nothing turns; any charge is refunded. Try again.');
      return null;
    } finally {
      this.awaiting = null;
    }
  }

  /** Acts on a verified result: a decline is shown; an approval turns the spiral and reports the outcome. */
  private async deliver(result: SettleResult, slot: string, relayName: string, item: CatalogItem): Promise<void> {
    const base = { requestId: result.requestId, slot, article: item.article };
    if (result.status !== 'approved') {
      this.observeOverhead();
      this.last = { ...base, status: 'declined', ...(result.reason !== undefined ? { reason: result.reason } : {}) };
      this.ctx.metrics.taps.inc({ result: 'declined' });
      await this.say(`Declined: ${result.reason !== undefined ? reasonText[result.reason] : 'no reason given'}.`);
      return;
    }
    this.ctx.metrics.taps.inc({ result: 'approved' });
    const deferred = result.deferredUntil !== undefined ? { deferredUntil: result.deferredUntil } : {};
    if (result.amount?.minor !== item.price.minor || result.amount.currency !== item.price.currency) {
      // Approved for another amount than the one shown: fail closed, and give the money back.
      this.machine.to('reporting', 'amount differs from the price');
      await this.sendOutcome(result.requestId, 'vend-failed', `approved amount differs from the price of ${slot}`, { ...base, status: 'approved', ...deferred });
      return;
    }
    const relay = requirePart(this.ctx.parts.relays, relayName, 'relay');
    this.machine.to('dispensing', slot);
    this.ctx.parts.display.show(`Paid. Dispensing ${item.name}...`);
    this.observeOverhead();
    const v = await vend(relay, this.drop, this.s.pulseMs, this.s.dropDeadlineMs);
    const outcome = v.dropped ? 'dispensed' : 'vend-failed';
    const { disabledNow, failures } = this.slots.record(slot, v.dropped);
    if (disabledNow) {
      this.ctx.log.warn({ slot, failures }, 'slot disabled');
      this.ctx.link.event('slot-disabled', `slot ${slot} disabled after ${failures} failed vends`);
    }
    this.machine.to('reporting', v.dropped ? `dropped after ${v.afterMs} ms` : v.why);
    await this.sendOutcome(result.requestId, outcome, v.dropped ? undefined : v.detail, { ...base, status: 'approved', ...deferred });
    const cooling = result.deferredUntil !== undefined ? ` You may cancel until ${new Date(result.deferredUntil).toISOString().slice(0, 16)}.` : '';
    await this.say(v.dropped ? `Take your ${item.name}.${cooling}` : 'Sorry, it did not drop. Your money is refunded.');
  }

  /** The device's own share of a tap: before the request left, and from the result to acting on it. */
  private observeOverhead(): void {
    this.ctx.metrics.deviceOverheadSeconds.observe((this.timing.tapToSendMs + (performance.now() - this.timing.resultAt)) / 1000);
  }

  private async sendOutcome(settleRequestId: string, outcome: 'dispensed' | 'vend-failed', detail: string | undefined, sale: LastSale): Promise<void> {
    this.last = { ...sale, outcome };
    this.ctx.metrics.outcomes.inc({ outcome });
    let ack: Promise<unknown>;
    try {
      ack = this.ctx.link.outcome({ settleRequestId, outcome, ...(detail !== undefined ? { detail } : {}) }, this.s.outcomeAckTimeoutMs);
    } catch (err) {
      // Outbox full: the core's outcome deadline refunds a sale whose outcome never came (and confirms nothing).
      this.ctx.log.error({ err, settleRequestId, outcome }, 'outcome not queued');
      this.ctx.link.event('error', `outcome for ${settleRequestId} not queued: ${errorCode(err)}`);
      return;
    }
    await ack.catch((err: unknown) => this.ctx.log.warn({ code: errorCode(err), settleRequestId }, 'outcome not acknowledged yet; it stays in the outbox'));
  }

  /** An approval nobody waits for: no customer stands at the machine, so nothing turns and the money goes back. */
  private lateResult(r: SettleResult): void {
    if (r.requestId === this.awaiting) return;
    this.ctx.log.warn({ requestId: r.requestId, status: r.status }, 'late result: no customer waiting');
    if (r.status !== 'approved') return;
    this.lateRefunds += 1;
    this.ctx.link.event('info', `late approval ${r.requestId} refunded (vend-failed)`);
    this.ctx.metrics.outcomes.inc({ outcome: 'vend-failed' });
    try {
      this.ctx.link.outcome({ settleRequestId: r.requestId, outcome: 'vend-failed', detail: 'result arrived when no customer was waiting; nothing dispensed' }, this.s.outcomeAckTimeoutMs)
        .catch((err: unknown) => this.ctx.log.warn({ code: errorCode(err), requestId: r.requestId }, 'late refund not acknowledged yet; it stays in the outbox'));
    } catch (err) {
      this.ctx.log.error({ err, requestId: r.requestId }, 'late refund not queued; the core refunds at the outcome deadline');
    }
  }

  private doorMoved(open: boolean): void {
    this.ctx.link.event('door', open ? 'opened' : 'closed: slots refilled and enabled');
    if (!open) {
      this.slots.refill();
      this.inbox.wake();
    }
    this.ctx.refresh();
  }

  /** Shows a message for messageMs (a stop cuts it short). */
  private async say(text: string): Promise<void> {
    this.ctx.parts.display.show(text);
    const until = this.ctx.clock() + this.s.messageMs;
    while (this.running && this.ctx.clock() < until) await new Promise((r) => setTimeout(r, Math.min(idlePollMs, until - this.ctx.clock())));
  }
}
