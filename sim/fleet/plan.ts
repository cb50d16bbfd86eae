/**
 * The run's plan, drawn from the seed before anything starts: for each tap,
 * which phone, which device, what the customer chooses, and when it arrives.
 * One seed gives the same plan; the run executes it with each phone and each
 * device serving one tap at a time in plan order, so a phone's balance and a
 * device's stock see the same sequence on every replay.
 */
import { seededRandom } from '../../firmware-hosts/runtime/backoff.ts';
import type { RandomSource } from '../../firmware-hosts/runtime/backoff.ts';
import type { DeviceKind } from '../../protocol/index.ts';
import type { Choice } from './customers.ts';
import { fleetKinds } from './provision.ts';
import type { Scenario } from './scenario.ts';

export interface PlannedTap {
  index: number;
  kind: DeviceKind;
  device: number;
  phone: number;
  choice: Choice;
  /** Milliseconds after the first tap that this customer arrives. */
  atMs: number;
}

function pickWeighted<T>(random: RandomSource, items: readonly T[], weight: (t: T) => number): T {
  const total = items.reduce((s, t) => s + weight(t), 0);
  let r = random() * total;
  for (const t of items) {
    r -= weight(t);
    if (r < 0) return t;
  }
  return items[items.length - 1]!;
}

export function planTaps(s: Scenario, seed: number): PlannedTap[] {
  const random = seededRandom(seed);
  const kinds = fleetKinds.filter((k) => s.devices[k] > 0 && s.taps.mix[k] > 0);
  if (kinds.length === 0 || s.taps.count === 0) return [];
  const special = s.phones.noFunds + s.phones.denyListed;
  const share = s.phones.specialShare;
  const pickPhone = (): number => {
    if (share === undefined || special === 0 || special === s.phones.count) return Math.floor(random() * s.phones.count);
    return random() < share ? Math.floor(random() * special) : special + Math.floor(random() * (s.phones.count - special));
  };
  const taps: PlannedTap[] = [];
  for (let index = 0; index < s.taps.count; index++) {
    const kind = pickWeighted(random, kinds, (k) => s.taps.mix[k]);
    const device = Math.floor(random() * s.devices[kind]);
    const phone = pickPhone();
    let choice: Choice;
    if (kind === 'vending') choice = { kind, slot: pickWeighted(random, s.vending.slots, (x) => x.weight).slot };
    else if (kind === 'pos') choice = { kind, amountMinor: s.pos.amountMinMinor + Math.floor(random() * (s.pos.amountMaxMinor - s.pos.amountMinMinor + 1)) };
    else choice = { kind };
    taps.push({ index, kind, device, phone, choice, atMs: s.taps.perSecond > 0 ? Math.round((index * 1000) / s.taps.perSecond) : 0 });
  }
  return taps;
}
