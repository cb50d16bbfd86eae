/**
 * The customer at each kind of device, as a person would do it: choose on
 * the keypad (vending, kiosk, purchase terminal), hold the phone to the
 * reader, walk through the opened gate, take the phone away. Each tap ends in
 * a record: what the device did, why, and how long from the phone entering
 * the field to the result. Every wait is bounded (`customerWaitMs`).
 */
import type { GateProgram } from '../../firmware-hosts/gate/index.ts';
import type { KioskProgram } from '../../firmware-hosts/kiosk/program.ts';
import type { PosProgram } from '../../firmware-hosts/pos/index.ts';
import type { VendingProgram } from '../../firmware-hosts/vending/index.ts';
import type { DeviceKind, SettleResult } from '../../protocol/index.ts';
import type { SimulatedPhone } from '../phone/phone.ts';
import { kioskArticle } from './devices.ts';
import type { FleetDevice } from './devices.ts';

/** The longest a customer waits for any one step: above every host's own result timeout plus a reconnect. */
export const customerWaitMs = 20_000;
/** How often a waiting customer looks at the device (a person glances at the display). */
export const customerPollMs = 5;
/** Results remembered per device, by requestId: a device serves one customer at a time. */
export const resultsPerDeviceMax = 64;

export type TapOutcome = 'approved' | 'declined' | 'offline-accepted' | 'no-answer';

export interface TapRecord {
  index: number;
  kind: DeviceKind;
  deviceId: string;
  phone: number;
  outcome: TapOutcome;
  /** Why it was declined or not answered (a core reason code or the device's refusal). */
  reason: string | null;
  /** Phone in the field → the device acted on a result (gate opened / result shown); null when nothing came. */
  ms: number | null;
  requestId: string | null;
}

export type Choice = { kind: 'gate' } | { kind: 'vending'; slot: string } | { kind: 'kiosk' } | { kind: 'pos'; amountMinor: number };

/** Keeps every verified result a device's link received, with when (performance.now()). */
export class ResultLog {
  private readonly byId = new Map<string, { at: number; result: SettleResult }>();

  constructor(device: FleetDevice) {
    device.host.link.on('result', (r) => this.add(r));
    device.host.link.on('unmatched-result', (r) => this.add(r));
  }

  private add(result: SettleResult): void {
    if (this.byId.has(result.requestId)) return;
    this.byId.set(result.requestId, { at: performance.now(), result });
    if (this.byId.size > resultsPerDeviceMax) this.byId.delete(this.byId.keys().next().value!);
  }

  get(requestId: string): { at: number; result: SettleResult } | undefined {
    return this.byId.get(requestId);
  }
}

async function until(check: () => boolean, timeoutMs = customerWaitMs): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, customerPollMs));
  }
  return true;
}

type Base = Omit<TapRecord, 'outcome' | 'reason' | 'ms' | 'requestId'>;
const rec = (base: Base, outcome: TapOutcome, reason: string | null, ms: number | null, requestId: string | null = null): TapRecord => ({ ...base, outcome, reason, ms, requestId });

function place(d: FleetDevice, phone: SimulatedPhone): number {
  phone.placeInField();
  d.sim.chip!.field.place(phone);
  return performance.now();
}

function takeAway(d: FleetDevice, phone: SimulatedPhone): void {
  d.sim.chip!.field.remove(phone);
  phone.remove();
}

/** "declined: insufficient-funds" → "insufficient-funds"; "admission-not-written: X" → "admission-not-written". */
const reasonOf = (why: string): string => why.replace(/^declined: /, '').split(':')[0]!.trim();

async function atGate(d: FleetDevice, phone: SimulatedPhone, base: Base): Promise<TapRecord> {
  const g = d.host.program as GateProgram;
  const fieldBusy = () => g.report().fieldBusy === true;
  if (!(await until(() => g.machine.state === 'idle' && !fieldBusy()))) return rec(base, 'no-answer', `gate-${g.machine.state}`, null);
  const handled = () => g.report().handled as number;
  const before = handled();
  const openedBefore = d.openedAt;
  const t0 = place(d, phone);
  let walked = false;
  const done = await until(() => {
    if (!walked && d.openedAt > openedBefore) {
      walked = true;
      void d.sim.inputs.get('passage')!.pulse(20);
    }
    return handled() > before;
  });
  const tEnd = performance.now();
  takeAway(d, phone);
  await until(() => !fieldBusy() && g.machine.state === 'idle');
  const last = g.last;
  if (!done || last === null) return rec(base, 'no-answer', 'gate-no-decision', null);
  if (last.result === 'opened') {
    const ms = d.openedAt > openedBefore ? d.openedAt - t0 : tEnd - t0;
    return rec(base, last.why.startsWith('offline') ? 'offline-accepted' : 'approved', null, ms);
  }
  const reason = reasonOf(last.why);
  return rec(base, reason === 'no-result' ? 'no-answer' : 'declined', reason, tEnd - t0);
}

async function atVending(d: FleetDevice, phone: SimulatedPhone, slot: string, base: Base, results: ResultLog): Promise<TapRecord> {
  const v = d.host.program as VendingProgram;
  if (!(await until(() => v.machine.state === 'idle' || v.machine.state === 'out-of-service'))) return rec(base, 'no-answer', `vending-${v.machine.state}`, null);
  if (v.machine.state === 'out-of-service') return rec(base, 'declined', 'out-of-service', null);
  const offer = v.slots.offer(slot, d.host.link.config);
  const lastBefore = v.report().lastSale;
  d.sim.keypad!.scan(slot);
  if (!offer.ok) {
    await new Promise((r) => setTimeout(r, customerPollMs * 4));
    await until(() => v.machine.state === 'idle');
    return rec(base, 'declined', offer.why, null);
  }
  if (!(await until(() => v.machine.state === 'chosen', 5_000))) return rec(base, 'no-answer', 'slot-not-chosen', null);
  const t0 = place(d, phone);
  await until(() => v.machine.state !== 'chosen');
  await until(() => v.machine.state === 'idle' || v.machine.state === 'out-of-service');
  takeAway(d, phone);
  const last = v.report().lastSale as { requestId: string; status: string; reason?: string; outcome?: string } | null;
  if (last === null || last === lastBefore) return rec(base, 'no-answer', 'no-sale', null);
  const got = results.get(last.requestId);
  const ms = got === undefined ? null : got.at - t0;
  if (last.status === 'approved') return rec(base, 'approved', null, ms, last.requestId);
  if (last.status === 'declined') return rec(base, 'declined', last.reason ?? 'declined', ms, last.requestId);
  return rec(base, 'no-answer', last.reason ?? 'no-answer', null, last.requestId);
}

async function atKiosk(d: FleetDevice, phone: SimulatedPhone, base: Base, results: ResultLog): Promise<TapRecord> {
  const k = d.host.program as KioskProgram;
  if (!(await until(() => k.machine.state === 'idle'))) return rec(base, 'no-answer', `kiosk-${k.machine.state}`, null);
  const chosen = k.choose(kioskArticle);
  if (!chosen.ok) return rec(base, 'declined', chosen.why, null);
  const c = k.counts;
  const total = () => c.delivered + c.retrievable + c.refunded + c.declined + c.timedOut + c.refusedTaps + c.errors;
  const before = { ...c };
  const sum = total();
  let lastResult: SettleResult | null = null;
  const onResult = (r: SettleResult) => { lastResult = r; };
  d.host.link.on('result', onResult);
  const t0 = place(d, phone);
  const done = await until(() => total() > sum);
  d.host.link.off('result', onResult);
  takeAway(d, phone);
  await until(() => k.machine.state === 'idle');
  const r = lastResult as SettleResult | null;
  const ms = r === null ? null : (results.get(r.requestId)?.at ?? performance.now()) - t0;
  const id = r?.requestId ?? null;
  if (!done) return rec(base, 'no-answer', 'kiosk-no-decision', null);
  if (c.delivered > before.delivered || c.retrievable > before.retrievable || c.refunded > before.refunded) return rec(base, 'approved', null, ms, id);
  if (c.declined > before.declined) return rec(base, 'declined', r?.reason ?? 'declined', ms, id);
  if (c.timedOut > before.timedOut) return rec(base, 'no-answer', 'timeout', null, id);
  return rec(base, 'no-answer', c.refusedTaps > before.refusedTaps ? 'tap-refused' : 'kiosk-error', null, id);
}

async function atPos(d: FleetDevice, phone: SimulatedPhone, amountMinor: number, base: Base, results: ResultLog): Promise<TapRecord> {
  const p = d.host.program as PosProgram;
  if (!(await until(() => p.machine.state === 'idle'))) return rec(base, 'no-answer', `pos-${p.machine.state}`, null);
  const lastBefore = p.lastSale;
  d.sim.keypad!.scan(`*${amountMinor}`, { keypad: true });
  d.sim.keypad!.scan('+', { keypad: true });
  if (!(await until(() => p.machine.state === 'waiting-tap', 5_000))) return rec(base, 'no-answer', 'amount-not-keyed', null);
  const t0 = place(d, phone);
  await until(() => p.machine.state !== 'waiting-tap');
  await until(() => p.machine.state === 'idle');
  takeAway(d, phone);
  const last = p.lastSale;
  if (last === null || last === lastBefore) return rec(base, 'no-answer', 'no-sale', null);
  const got = results.get(last.requestId);
  const ms = got === undefined ? null : got.at - t0;
  if (last.status === 'approved') return rec(base, 'approved', null, ms, last.requestId);
  if (last.status === 'declined') return rec(base, 'declined', got?.result.reason ?? 'declined', ms, last.requestId);
  return rec(base, 'no-answer', last.status, null, last.requestId);
}

/** One customer at one device; resolves once the device is ready for the next. */
export function customerTap(d: FleetDevice, phone: SimulatedPhone, choice: Choice, base: Base, results: ResultLog): Promise<TapRecord> {
  switch (choice.kind) {
    case 'gate': return atGate(d, phone, base);
    case 'vending': return atVending(d, phone, choice.slot, base, results);
    case 'kiosk': return atKiosk(d, phone, base, results);
    case 'pos': return atPos(d, phone, choice.amountMinor, base, results);
  }
}
