/**
 * The transit gate (issue 5, claims 11, 17, 18): one NFC reader, one relay
 * that opens the paddles, one passage sensor across the lane. The mode says
 * what a tap means: entry (write a gate-signed admission), exit (charge the
 * fare from the admission), entry-exit (either, by whether the phone holds an
 * admission) or ticket (admit on an issuer-signed ticket, offline).
 *
 * Fail closed: the relay opens only on a verified approval, a verified
 * ticket, a written admission, or the configured offline policy. Any error,
 * timeout, bad config or unverifiable answer leaves it closed.
 */
import type { DigitalInput } from '../../hardware/digital-input.ts';
import type { NfcReader } from '../../hardware/nfc-reader.ts';
import type { Relay } from '../../hardware/relay.ts';
import type { WalletInfo } from '../../protocol/applet.ts';
import type { DeviceOutput, SigningKeyPair } from '../../protocol/index.ts';
import { uuidv7 } from '../../protocol/index.ts';
import type { HostContext, HostProgram } from '../runtime/host.ts';
import { RuntimeError } from '../runtime/errors.ts';
import { StateMachine, bounded } from '../runtime/machine.ts';
import { requirePart } from '../runtime/parts.ts';
import { errorCode, isTap, nextTap, releaseQuietly } from '../runtime/tap.ts';
import type { Tap } from '../runtime/tap.ts';
import { TapError } from './errors.ts';
import { ExitDesk } from './exit.ts';
import { GateState } from './gate-state.ts';
import { gateTable } from './machine-table.ts';
import type { GateStateName } from './machine-table.ts';
import { openForPassage } from './passage.ts';
import type { Passage } from './passage.ts';
import { GraceBook } from './grace.ts';
import { admissionVerifies, loadAdmissionKey, signAdmission } from './signatures.ts';
import { chooseTicket } from './tickets.ts';
import { chargesFares, writesAdmissions } from './settings.ts';
import type { GateSettings } from './settings.ts';

/** After a tap, the reader is polled this long at a time until the phone has left the field. */
const fieldClearPollMs = 100;
/** stop() waits this long for a tap in progress (an opening lasts at most openPulseMs + a little). */
const stopWaitSlackMs = 2_000;

export interface LastTap {
  at: number;
  mode: 'entry' | 'exit' | 'ticket';
  result: 'opened' | 'refused';
  why: string;
  walletId?: string;
  passage?: Passage;
  /** performance.now() span from the phone entering the field to the relay opening. */
  tapToOpenMs?: number;
}

export class GateProgram implements HostProgram {
  readonly machine: StateMachine<GateStateName>;
  readonly state: GateState | null;
  private readonly stateError: string | null;
  readonly s: GateSettings;
  readonly nfc: NfcReader;
  readonly relay: Relay;
  readonly sensor: DigitalInput;
  private readonly key: SigningKeyPair | null;
  private readonly exit: ExitDesk | null;
  /** Entries whose gate closed before anyone passed: the same admission may open this gate again within the grace. */
  private readonly entryRetries: GraceBook<true>;
  private running = false;
  /** Ends an out-of-service wait early (a new config, a reconnect). */
  private wakeUp: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private fieldBusy = false;
  private handled = 0;
  last: LastTap | null = null;

  constructor(readonly ctx: HostContext<GateSettings>) {
    this.s = ctx.settings;
    if (ctx.parts.nfc === null) throw new RuntimeError('TS_ERR_DEVICE_PARTS', 'a gate needs an NFC reader: add parts.nfc to the device file');
    this.nfc = ctx.parts.nfc;
    this.relay = requirePart(ctx.parts.relays, this.s.relay, 'relay (gate.relay)');
    this.sensor = requirePart(ctx.parts.inputs, this.s.passageSensor, 'passage sensor (gate.passageSensor)');
    if (this.s.openPulseMs > this.relay.pulseMsMax) {
      throw new RuntimeError('TS_ERR_DEVICE_FILE', `gate.openPulseMs: ${this.s.openPulseMs} ms is longer than relay ${this.relay.name}'s pulseMsMax (${this.relay.pulseMsMax} ms)`);
    }
    this.key = writesAdmissions(this.s.mode) ? loadAdmissionKey(this.s, ctx.filePath) : null;
    this.machine = new StateMachine('gate', gateTable, 'starting', ctx.log, ctx.clock);
    let state: GateState | null = null;
    let stateError: string | null = null;
    try {
      state = new GateState(ctx.dataDir, this.s.usedTicketsMax);
    } catch (err) {
      stateError = (err as Error).message;
      ctx.log.error({ err: stateError }, 'gate state file unreadable: out of service until a technician repairs or removes it');
    }
    this.state = state;
    this.stateError = stateError;
    this.entryRetries = new GraceBook(this.s.retryGraceMs, ctx.clock);
    this.exit = state !== null && chargesFares(this.s.mode) ? new ExitDesk(this, state) : null;
    // A new config or a reconnect may clear a fault: look again at once instead of after tapPollMs.
    ctx.link.on('config', () => this.wakeUp?.());
    ctx.link.on('connected', () => this.wakeUp?.());
    if (state !== null) {
      ctx.link.on('config', (c) => {
        const gone = state.supersede(c.version);
        if (gone.length > 0) ctx.log.info({ wallets: gone.length, version: c.version }, 'local deny entries superseded by a newer config');
      });
    }
  }

  // ---- HostProgram ----

  start(): Promise<void> {
    this.exit?.restore();
    this.running = true;
    this.ctx.parts.display.show(this.welcome());
    this.loopDone = this.loop();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    await bounded('gate loop to stop', this.loopDone, this.s.openPulseMs + this.s.resultTimeoutMs + stopWaitSlackMs);
    this.relay.close();
    if (this.machine.can('stopped')) this.machine.to('stopped', 'host stopping');
  }

  outputs(): DeviceOutput[] {
    return [
      { name: this.relay.name, kind: 'relay', state: this.relay.state },
      { name: this.sensor.name, kind: 'sensor', state: this.sensor.value ? 'active' : 'idle' },
      { name: 'display', kind: 'display', state: this.ctx.parts.display.text || ' ' },
    ];
  }

  faults(): string[] {
    const f: string[] = [];
    if (this.state === null) return ['gate-state-unreadable'];
    const config = this.ctx.config();
    if (config === null) return ['no-config'];
    if (config.keys === undefined) f.push('no-keys');
    if (chargesFares(this.s.mode) && config.fareTable === undefined) f.push('no-fare-table');
    if (chargesFares(this.s.mode) && this.ctx.link.outbox.isFull) f.push('outbox-full');
    if (this.s.mode === 'ticket' && !this.state.ticketRoom(this.ctx.clock())) f.push('used-tickets-full');
    return f;
  }

  healthy(): boolean {
    return this.running && this.machine.state !== 'stopped';
  }

  report(): Record<string, unknown> {
    return {
      mode: this.s.mode, station: this.s.stationId, handled: this.handled, fieldBusy: this.fieldBusy, last: this.last,
      stateError: this.stateError, usedTickets: this.state?.usedTicketCount ?? 0, localDenied: this.state?.deniedCount ?? 0,
      ...(this.exit ? this.exit.report() : {}),
    };
  }

  // ---- the loop ----

  private async loop(): Promise<void> {
    if (this.machine.state === 'starting') this.machine.to('idle', 'started');
    while (this.running) {
      try {
        await this.step();
      } catch (err) {
        this.failClosed(err);
      }
    }
  }

  private async step(): Promise<void> {
    const faults = this.faults();
    if (faults.length > 0) {
      if (this.machine.state !== 'out-of-service') {
        this.machine.to('out-of-service', faults.join(','));
        this.ctx.parts.display.show('Out of service - gate closed');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.s.tapPollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
      return;
    }
    if (this.machine.state === 'out-of-service') {
      this.machine.to('idle', 'faults cleared');
      this.ctx.parts.display.show(this.welcome());
    }
    if (this.fieldBusy) {
      // The last phone must leave the field first: a phone left on the reader is never charged or admitted twice.
      const still = await this.nfc.waitForTarget({ timeoutMs: fieldClearPollMs });
      if (still === null) this.fieldBusy = false;
      else await releaseQuietly(this.nfc);
      return;
    }
    const tap = await nextTap(this.nfc, this.s.tapPollMs);
    if (tap === null) return;
    this.fieldBusy = true;
    this.machine.to('reading', 'phone in the field');
    if (!isTap(tap)) {
      this.refuse(null, tap.refused, 'entry');
      return;
    }
    try {
      await this.handle(tap);
    } finally {
      await releaseQuietly(this.nfc);
      this.handled += 1;
    }
  }

  private async handle(tap: Tap): Promise<void> {
    const wallet = await tap.wallet.getWallet().catch((err: unknown) => { throw new TapError(`wallet-unreadable: ${errorCode(err)}`); });
    this.ctx.link.event('tap', `wallet ${wallet.walletId}`);
    this.machine.to('checking', 'wallet read');
    if (this.s.mode === 'ticket') return this.ticket(tap, wallet);
    if (this.isDenied(wallet.walletId)) return this.refuse(tap, 'deny-listed', this.s.mode === 'exit' ? 'exit' : 'entry', wallet.walletId);
    if (this.s.mode === 'exit') return this.exit!.exit(tap, wallet);
    const admission = await tap.wallet.getAdmission().catch((err: unknown) => {
      // Unreadable admission data is no admission (it cannot verify); a phone that left is a refusal.
      if (errorCode(err) === 'TS_ERR_APPLET_BAD_RESPONSE') return null;
      throw new TapError(`phone-left: ${errorCode(err)}`);
    });
    const valid = admission !== null && admissionVerifies(this.ctx.config(), admission) && admission.walletId === wallet.walletId ? admission : null;
    if (this.s.mode === 'entry-exit' && admission !== null) return this.exit!.exit(tap, wallet, admission);
    if (valid !== null) {
      if (valid.gate === this.ctx.deviceId && this.entryRetries.take(valid.admissionId) !== undefined) {
        await this.admit(tap, 'entry', wallet.walletId, 'entry retried within grace', (p) => this.afterEntry(valid.admissionId, p));
        return;
      }
      return this.refuse(tap, 'passback', 'entry', wallet.walletId);
    }
    return this.entry(tap, wallet);
  }

  // ---- entry ----

  private async entry(tap: Tap, wallet: WalletInfo): Promise<void> {
    const admission = signAdmission(this.key!, { admissionId: uuidv7(this.ctx.clock()), walletId: wallet.walletId, station: this.s.stationId, gate: this.ctx.deviceId, enteredAt: this.ctx.clock() });
    try {
      await tap.wallet.putAdmission(admission);
    } catch (err) {
      return this.refuse(tap, `admission-not-written: ${errorCode(err)}`, 'entry', wallet.walletId);
    }
    await this.admit(tap, 'entry', wallet.walletId, `entered at ${this.s.stationId}`, (p) => this.afterEntry(admission.admissionId, p));
  }

  private afterEntry(admissionId: string, p: Passage): void {
    if (p !== 'passed') this.entryRetries.put(admissionId, true);
  }

  // ---- ticket ----

  private async ticket(tap: Tap, wallet: WalletInfo): Promise<void> {
    const state = this.state!;
    const tickets = await tap.wallet.getTickets().catch((err: unknown) => {
      if (errorCode(err) === 'TS_ERR_APPLET_BAD_RESPONSE') return [];
      throw new TapError(`phone-left: ${errorCode(err)}`);
    });
    const now = this.ctx.clock();
    const chosen = chooseTicket(tickets, { walletId: wallet.walletId, now, config: this.ctx.config(), products: this.s.products, usesHere: (id) => state.ticketUses(id) });
    if ('refused' in chosen) return this.refuse(tap, chosen.refused, 'ticket', wallet.walletId);
    const t = chosen.ticket;
    // Used before the gate opens, durably: a crash after opening must never give the ticket another ride.
    state.useTicket(t.ticketId, t.validUntil);
    await this.admit(tap, 'ticket', wallet.walletId, `ticket ${t.product}`, (p) => {
      if (p !== 'passed') state.returnTicketUse(t.ticketId);
    });
  }

  // ---- shared ----

  isDenied(walletId: string): boolean {
    return (this.ctx.config()?.denyList?.includes(walletId) ?? false) || (this.state?.denied(walletId) ?? false);
  }

  /** Opens for one passage and reports it; the reader is let go first (the customer walks away with the phone). */
  async admit(tap: Tap, mode: LastTap['mode'], walletId: string, why: string, after: (p: Passage) => void, beforeWalk?: () => Promise<void>): Promise<Passage> {
    this.machine.to('open', why);
    this.ctx.parts.display.show(mode === 'entry' ? 'Welcome - please pass' : 'Thank you - please pass');
    this.ctx.metrics.taps.inc({ result: 'approved' });
    let tapToOpenMs: number | undefined;
    const passage = openForPassage(this.relay, this.sensor, this.s.openPulseMs, () => {
      tapToOpenMs = performance.now() - tap.seenAt;
      this.ctx.metrics.tapToResultSeconds.observe(tapToOpenMs / 1000);
      this.ctx.refresh();
    });
    if (beforeWalk) await beforeWalk().catch((err: unknown) => this.ctx.log.warn({ err: errorCode(err) }, 'after-open phone work failed'));
    await releaseQuietly(this.nfc);
    const p = await passage;
    if (p === 'not-opened') this.ctx.link.event('error', `relay ${this.relay.name} did not open`);
    this.last = { at: this.ctx.clock(), mode, result: 'opened', why, walletId, passage: p, ...(tapToOpenMs !== undefined ? { tapToOpenMs } : {}) };
    after(p);
    this.machine.to('idle', p);
    this.ctx.parts.display.show(this.welcome());
    return p;
  }

  refuse(tap: Tap | null, why: string, mode: LastTap['mode'], walletId?: string): void {
    this.relay.close();
    this.machine.to('refusing', why);
    this.ctx.parts.display.show(`Refused: ${why}`.slice(0, 80));
    this.ctx.metrics.taps.inc({ result: 'refused' });
    this.ctx.link.event('tap', `refused: ${why}`.slice(0, 200));
    this.last = { at: this.ctx.clock(), mode, result: 'refused', why, ...(walletId !== undefined ? { walletId } : {}) };
    if (tap !== null) this.ctx.metrics.tapToResultSeconds.observe((performance.now() - tap.seenAt) / 1000);
    this.machine.to('idle', 'refused');
  }

  private failClosed(err: unknown): void {
    this.relay.close();
    const why = err instanceof TapError ? err.message : `error: ${errorCode(err)}`;
    if (!(err instanceof TapError)) {
      this.ctx.log.error({ err: (err as Error).message, code: errorCode(err) }, 'tap failed; gate closed');
      this.ctx.link.event('error', `${errorCode(err)}: ${(err as Error).message}`.slice(0, 200));
    }
    if (this.machine.can('refusing')) this.refuse(null, why, this.s.mode === 'ticket' ? 'ticket' : 'entry');
    else if (this.machine.can('idle')) this.machine.to('idle', why);
  }

  private welcome(): string {
    return this.s.mode === 'ticket' ? 'Tap your ticket' : this.s.mode === 'exit' ? 'Tap to exit' : 'Tap to enter';
  }
}
