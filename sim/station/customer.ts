/**
 * What a customer does at each kind of device, and what the station answers
 * for a tap: at a gate, hold the phone to the reader (and walk through if
 * the paddles open); at a vending machine, type the slot on the keypad, then
 * tap; at a kiosk, choose the ticket, then tap; at a purchase terminal, key
 * the article or amount and pay, then tap. The phone is taken away once the
 * device has finished with it (or after `tapDoneMs`).
 *
 * The device decides everything; the station only reads what it did (the
 * gate's last tap, the machine's last sale, the display) to answer in one
 * short line.
 */
import { formatMoney } from '../../protocol/index.ts';
import type { DeviceConfig } from '../../protocol/index.ts';
import type { GateProgram } from '../../firmware-hosts/gate/index.ts';
import type { KioskProgram } from '../../firmware-hosts/kiosk/program.ts';
import type { PosProgram } from '../../firmware-hosts/pos/index.ts';
import type { LastSale as VendingSale, VendingProgram } from '../../firmware-hosts/vending/index.ts';
import { StationError } from './errors.ts';
import type { StationMachine } from './station-device.ts';
import type { StationPhone } from './station-phone.ts';

/** The device must be ready for a customer within this (a sale before ours is finishing, a result still shown). */
export const readyWaitMs = 6_000;
/** A keyed choice shows up on the machine within this, or it was refused. */
export const choiceWaitMs = 2_000;
/** From the phone on the reader to the device done with it: under the dashboard's 15 s action timeout. */
export const tapDoneMs = 12_000;
/** How often the station looks at a device's state while it waits. */
const pollMs = 20;

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

async function must(m: StationMachine, what: string, check: () => boolean, ms: number): Promise<void> {
  if (!(await until(check, ms))) {
    throw new StationError('TS_ERR_STATION_TAP', `${m.id}: ${what} did not happen within ${ms} ms (display: ${m.shown.at(-1) ?? '-'})`);
  }
}

type CatalogItem = NonNullable<DeviceConfig['catalog']>[number];

function catalogOf(m: StationMachine): CatalogItem[] {
  return m.live.host.link.config?.catalog ?? [];
}

/** Holds the phone to the reader, runs `during`, and always takes the phone away again. */
async function onReader<T>(m: StationMachine, phone: StationPhone, during: () => Promise<T>): Promise<T> {
  const { sim } = m.live;
  phone.phone.placeInField();
  sim.chip!.field.place(phone.phone);
  try {
    return await during();
  } finally {
    sim.chip!.field.remove(phone.phone);
  }
}

const money = (minor: number, currency: string) => formatMoney(minor, currency);

async function atGate(m: StationMachine, phone: StationPhone): Promise<string> {
  const program = m.live.host.program as GateProgram;
  const handled = () => program.report().handled as number;
  await must(m, 'the gate waiting for a phone', () => program.machine.state === 'idle' && program.report().fieldBusy === false, readyWaitMs);
  const before = handled();
  await onReader(m, phone, () => must(m, 'the gate handling the tap', () => handled() > before, tapDoneMs));
  const last = program.last!;
  if (last.result === 'refused') return `refused: ${last.why}`;
  const fare = /^(fare|offline) (\d+) ([A-Z]{3})$/.exec(last.why);
  if (fare) return `opened: ${fare[1] === 'offline' ? 'offline, ' : ''}fare ${money(Number(fare[2]), fare[3]!)}${last.passage ? `, ${last.passage}` : ''}`;
  return `opened: ${last.why}`;
}

async function atVending(m: StationMachine, phone: StationPhone, choice: string | undefined): Promise<string> {
  const { host, sim } = m.live;
  const program = host.program as VendingProgram;
  const slot = (choice ?? m.spec.defaultChoice ?? catalogOf(m).find((c) => c.slot !== undefined)?.slot ?? m.slots[0] ?? 'A1').toUpperCase();
  if (!m.slots.includes(slot)) throw new StationError('TS_ERR_STATION_UNKNOWN_DEVICE', `${m.id} has no slot ${slot} (slots: ${m.slots.join(', ')})`);
  const lastId = () => (program.report().lastSale as VendingSale | null)?.requestId ?? null;
  await must(m, 'the machine waiting for a choice', () => program.machine.state === 'idle', readyWaitMs);
  const before = lastId();
  sim.keypad!.scan(slot);
  if (!(await until(() => program.machine.state === 'chosen', choiceWaitMs))) {
    throw new StationError('TS_ERR_STATION_TAP', `${m.id} refused slot ${slot}: ${m.shown.at(-1) ?? 'no answer on the display'}`);
  }
  await onReader(m, phone, async () => {
    await must(m, 'the machine taking the phone', () => program.machine.state !== 'chosen', tapDoneMs);
    await must(m, 'the sale ending', () => program.machine.state === 'idle' || program.machine.state === 'out-of-service', tapDoneMs);
  });
  const sale = program.report().lastSale as VendingSale | null;
  if (sale === null || sale.requestId === before) return `not sold: ${m.shown.at(-1) ?? 'the phone did not pay'}`;
  const item = catalogOf(m).find((c) => c.slot === slot);
  const price = item ? ` ${money(item.price.minor, item.price.currency)}` : '';
  if (sale.status === 'approved') return `approved${price} ${sale.article}: ${sale.outcome ?? 'no outcome'}${sale.deferredUntil ? ' (cooling-off)' : ''}`;
  if (sale.status === 'declined') return `declined: ${sale.reason ?? 'no reason'}`;
  return 'no answer: nothing turned; any charge is refunded';
}

async function atKiosk(m: StationMachine, phone: StationPhone, choice: string | undefined): Promise<string> {
  const program = m.live.host.program as KioskProgram;
  const ticketItems = catalogOf(m).filter((c) => c.ticket !== undefined);
  const code = choice ?? m.spec.defaultChoice ?? ticketItems[0]?.slot ?? ticketItems[0]?.article ?? 'T1';
  await must(m, 'the kiosk waiting for a choice', () => program.machine.state === 'idle' || program.machine.state === 'out-of-service', readyWaitMs);
  const chosen = program.choose(code);
  if (!chosen.ok) {
    if (chosen.why === 'unknown-product') throw new StationError('TS_ERR_STATION_UNKNOWN_DEVICE', `${m.id} sells no ticket ${code} (tickets: ${ticketItems.map((c) => c.slot ?? c.article).join(', ')})`);
    throw new StationError('TS_ERR_STATION_TAP', `${m.id} did not take the choice: ${chosen.why} (${m.shown.at(-1) ?? '-'})`);
  }
  const counts = { ...program.counts };
  await onReader(m, phone, async () => {
    await must(m, 'the kiosk taking the phone', () => program.machine.state !== 'awaiting-tap', tapDoneMs);
    await must(m, 'the sale ending', () => program.machine.state === 'idle', tapDoneMs);
  });
  const c = program.counts;
  const what = c.delivered > counts.delivered ? 'ticket on the phone'
    : c.retrievable > counts.retrievable ? 'ticket in the wallet app'
      : c.declined > counts.declined ? 'declined'
        : c.refunded > counts.refunded ? 'refunded'
          : 'not sold';
  const shown = [...m.shown].reverse().find((t) => !t.startsWith('Choose a ticket')) ?? '';
  return `${what}: ${shown}`;
}

async function atPos(m: StationMachine, phone: StationPhone, choice: string | undefined): Promise<string> {
  const { host, sim } = m.live;
  const program = host.program as PosProgram;
  const code = choice ?? m.spec.defaultChoice ?? catalogOf(m)[0]?.article ?? '100';
  const keyed = /^\d+$/.test(code) && !catalogOf(m).some((c) => c.article === code) ? `*${code}` : code;
  await must(m, 'the terminal ready for a sale', () => program.machine.state === 'idle', readyWaitMs);
  const before = program.lastSale?.requestId ?? null;
  const pad = (text: string) => sim.keypad!.scan(text, { keypad: /^[0-9.+\-*/]+$/.test(text) });
  pad(keyed);
  pad('+');
  if (!(await until(() => program.machine.state === 'waiting-tap', choiceWaitMs))) {
    throw new StationError('TS_ERR_STATION_TAP', `${m.id} did not take ${code}: ${m.shown.at(-1) ?? 'no answer on the display'}`);
  }
  await onReader(m, phone, () => must(m, 'the terminal showing a result', () => (program.lastSale?.requestId ?? null) !== before, tapDoneMs));
  const sale = program.lastSale!;
  const amount = money(sale.purchase.amount.minor, sale.purchase.amount.currency);
  return sale.status === 'approved' ? `approved ${amount} ${sale.purchase.article}` : `${sale.status} ${amount}: ${sale.detail}`;
}

/** One customer's tap; resolves with what the device did, in one line. */
export function customerTap(m: StationMachine, phone: StationPhone, choice?: string): Promise<string> {
  switch (m.spec.kind) {
    case 'gate': return atGate(m, phone);
    case 'vending': return atVending(m, phone, choice);
    case 'kiosk': return atKiosk(m, phone, choice);
    case 'pos': return atPos(m, phone, choice);
  }
}
