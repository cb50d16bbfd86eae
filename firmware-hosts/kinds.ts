/** Every device kind a host can run as: `tapsettle device <kind>` and the station look them up here. */
import type { DeviceKind } from '../protocol/index.ts';
import { gateKind } from './gate/index.ts';
import { kioskKind } from './kiosk/kiosk.ts';
import { posKind } from './pos/index.ts';
import type { HostKind } from './runtime/host-kind.ts';
import { vendingKind } from './vending/index.ts';

export const hostKinds: Readonly<Record<DeviceKind, HostKind<unknown>>> = {
  vending: vendingKind,
  kiosk: kioskKind,
  gate: gateKind,
  pos: posKind,
};
