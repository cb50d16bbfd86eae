/**
 * What the dashboard may know of and do to a simulated station (issue 6,
 * item 4): its demo phones and the buttons. The gateway never imports sim/
 * or firmware-hosts/ (DESIGN §3); whoever runs a simulated station (the
 * `tapsettle start` wiring) implements this and hands it to the gateway.
 * Without one, the dashboard shows devices and settlements only.
 *
 * A station may be handed to the gateway before its devices run (they need
 * the gateway's broker): phones() and devices() may answer empty lists until
 * then, and the station calls its subscribe listeners once they are up.
 *
 * Every text here is short and for people: the dashboard cuts longer ones
 * (`textLengthMax` in limits.ts) and shows at most `listItemsMax` of a list.
 */
import type { DeviceKind } from '../../protocol/index.ts';

export interface MoneyView {
  /** Integer minor units (cents). */
  minor: number;
  currency: string;
}

export interface PhoneView {
  /** The name technicians use ("ada"); unique in the station. */
  name: string;
  walletId: string;
  /** The customer account the wallet pays from. */
  account: string;
  balance: MoneyView;
  /** One line per ticket the phone holds: "day pass, 2 rides left, until 18:00". */
  tickets: readonly string[];
  /** Where the phone entered the transit system, if it is inside one: "in at gate-entry-1 since 14:02". */
  admission: string | null;
  /** The e-money the phone carries offline: "€4.00 on the phone". */
  emoney: string | null;
}

export interface StationDevice {
  id: string;
  kind: DeviceKind;
  /** What it is for, for people: "entry gate", "snack machine". */
  role: string;
  /** Slots that can be jammed (vending); empty or absent when jam takes no slot. */
  slots?: readonly string[];
  /** True while the device is cut off from the gateway (`cut(id, true)`). */
  cutOff?: boolean;
}

export interface StationView {
  phones(): readonly PhoneView[];
  devices(): readonly StationDevice[];
  /**
   * Places the named phone on the device's reader, after the selection the device needs (`choice`: a vending slot,
   * a kiosk ticket, a terminal article or amount; the station's default when absent). Resolves with a short result
   * ("approved €2.50"); rejects with an Error whose message says why not.
   */
  tap(phone: string, deviceId: string, choice?: string): Promise<string>;
  /** Jams a dispenser (a slot of it, when given). */
  jam(deviceId: string, slot?: string): Promise<string>;
  /** `on: true` cuts the device off from the gateway (its link goes down); `false` reconnects it. */
  cut(deviceId: string, on: boolean): Promise<string>;
  /** Calls the listener after anything phones() or devices() show has changed. Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}
