/**
 * What the page receives: plain JSON views of devices, settlements, device
 * events and phones, each cut to the dashboard's limits so that nothing a
 * device or a station says can make a message grow without bound.
 */
import type { DeviceOutput, DeviceState } from '../../protocol/index.ts';
import type { DashboardLimits } from './limits.ts';
import type { MoneyView, PhoneView, StationDevice } from './station-view.ts';

export type Presence = 'online' | 'offline' | 'out-of-service';

export interface DeviceView {
  id: string;
  kind: string | null;
  role: string | null;
  presence: Presence;
  /** Epoch ms of the last presence change, as the broker saw it; null if never seen. */
  since: number | null;
  machineState: string | null;
  outputs: DeviceOutput[];
  faults: string[];
  outboxDepth: number | null;
  lastEvent: EventView | null;
  /** Part of the attached station: the page offers its buttons. */
  inStation: boolean;
  cutOff: boolean;
  slots: string[];
}

export interface SettlementView {
  /** `{deviceId}/{requestId}`: the journal key. */
  key: string;
  deviceId: string;
  requestId: string;
  /** When the core answered (the result's sentAt). */
  at: number;
  status: 'approved' | 'declined';
  reason: string | null;
  amount: MoneyView | null;
  ticket: boolean;
  /** From the journal, when the row has been looked up. */
  walletId: string | null;
  article: string | null;
  journalState: string | null;
  /** What the device reported afterwards (dispensed, passed, vend-failed, …). */
  outcome: string | null;
}

export interface EventView {
  deviceId: string;
  kind: string;
  detail: string | null;
  at: number;
}

export interface DashboardSnapshot {
  at: number;
  /** Whether a simulated station is attached (the page shows phones and buttons only then). */
  station: boolean;
  devices: DeviceView[];
  /** Devices the broker knows that are not shown (over `devicesMax`). */
  devicesHidden: number;
  /** Newest first. */
  settlements: SettlementView[];
  /** Newest first. */
  events: EventView[];
  phones: PhoneView[];
}

/** Sent every `flushMs` when something changed: only what changed. */
export interface DashboardUpdate {
  devices: DeviceView[];
  devicesHidden: number;
  /** New or changed rows, oldest first (the page puts each on top, or updates it in place). */
  settlements: SettlementView[];
  /** New events, oldest first. */
  events: EventView[];
  /** The whole phone list, when it changed. */
  phones?: PhoneView[];
}

/** What the feed keeps per device; the view is built from it on demand. */
export interface DeviceRecord {
  id: string;
  kind: string | null;
  role: string | null;
  connected: 'online' | 'offline' | null;
  since: number | null;
  state: DeviceState | null;
  lastEvent: EventView | null;
  station: StationDevice | null;
}

const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const cutList = (items: readonly string[], l: DashboardLimits): string[] => items.slice(0, l.listItemsMax).map((s) => cut(String(s), l.textLengthMax));

export function presenceOf(r: DeviceRecord): Presence {
  if (r.connected === 'offline' || r.connected === null) return 'offline';
  return r.state?.status ?? 'online';
}

export function deviceView(r: DeviceRecord, l: DashboardLimits): DeviceView {
  const s = r.state;
  return {
    id: r.id,
    kind: r.station?.kind ?? s?.kind ?? r.kind,
    role: r.station ? cut(r.station.role, l.textLengthMax) : r.role,
    presence: presenceOf(r),
    since: r.since,
    machineState: s?.machineState ?? null,
    outputs: (s?.outputs ?? []).slice(0, l.outputsPerDeviceMax),
    faults: cutList(s?.health?.faults ?? [], l),
    outboxDepth: s?.health?.outboxDepth ?? null,
    lastEvent: r.lastEvent,
    inStation: r.station !== null,
    cutOff: r.station?.cutOff === true,
    slots: cutList(r.station?.slots ?? [], l),
  };
}

/** A station's phone as shown: texts cut, lists shortened, numbers checked. A malformed phone is left out (null). */
export function phoneView(p: PhoneView, l: DashboardLimits): PhoneView | null {
  if (typeof p.name !== 'string' || typeof p.walletId !== 'string' || !Number.isSafeInteger(p.balance.minor)) return null;
  return {
    name: cut(p.name, l.textLengthMax),
    walletId: cut(p.walletId, l.textLengthMax),
    account: cut(String(p.account), l.textLengthMax),
    balance: { minor: p.balance.minor, currency: cut(String(p.balance.currency), 8) },
    tickets: cutList(p.tickets, l),
    admission: p.admission === null ? null : cut(String(p.admission), l.textLengthMax),
    emoney: p.emoney === null ? null : cut(String(p.emoney), l.textLengthMax),
  };
}

export const eventView = (deviceId: string, kind: string, detail: string | undefined, at: number, l: DashboardLimits): EventView =>
  ({ deviceId, kind, detail: detail === undefined ? null : cut(detail, l.textLengthMax), at });
