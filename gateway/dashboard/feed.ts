/**
 * The dashboard's model: every device with its presence and last state, the
 * last settlements, recent device events and the station's phones. Messages
 * arrive raw in the intake (intake.ts) and are decoded only when someone
 * looks: every `flushMs` while a stream is open, and for a snapshot. Changes
 * go to the streams in one batch per flush. Journal reads that add the
 * wallet and article to a settlement row happen then too, only for rows
 * being sent, so a busy gateway pays for them at most `settlementsMax` times
 * per flush, and for nothing at all while nobody watches.
 */
import type { DeviceEvent, DeviceState, Outcome, OutcomeAck, SettleResult } from '../../protocol/index.ts';
import { RawIntake, pushBounded } from './intake.ts';
import type { DashboardLimits } from './limits.ts';
import type { PhoneView, StationView } from './station-view.ts';
import { deviceView, eventView, phoneView } from './views.ts';
import type { DashboardSnapshot, DashboardUpdate, DeviceRecord, EventView, SettlementView } from './views.ts';

/** One device in the broker's availability view (GatewayBroker.online()). */
export interface PresenceEntry {
  status: 'online' | 'offline';
  since: number;
  state?: DeviceState;
}

export interface JournalFacts {
  walletId: string | null;
  article: string | null;
  state: string;
}

export interface FeedOptions {
  limits: DashboardLimits;
  station: StationView | null;
  /** The journal entry of a settlement, or null. */
  lookup: (deviceId: string, requestId: string) => Promise<JournalFacts | null>;
  /** The broker's availability view, read every `reconcileMs` while someone watches and for each snapshot. */
  presence?: () => ReadonlyMap<string, PresenceEntry>;
  now?: () => number;
  /** A failure that must not stop the feed (a station that throws, a store read that fails). */
  onError?: (err: unknown, what: string) => void;
}

type Row = SettlementView & { enriched: boolean };

export class DashboardFeed {
  /** Raw messages from the broker, decoded at the next flush or snapshot. */
  readonly intake: RawIntake;
  private readonly limits: DashboardLimits;
  private presenceReadAt = -Infinity;
  private readonly now: () => number;
  private readonly devices = new Map<string, DeviceRecord>();
  private devicesHidden = 0;
  private readonly rows = new Map<string, Row>();
  private readonly events: EventView[] = [];
  private phones: PhoneView[] = [];
  private dirtyDevices = new Set<string>();
  private dirtyRows = new Set<string>();
  private newEvents: EventView[] = [];
  private stationDirty = true;
  private phonesChanged = false;
  private hiddenChanged = false;
  private readonly listeners = new Set<(update: DashboardUpdate) => void>();
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;

  constructor(private readonly options: FeedOptions) {
    this.limits = options.limits;
    this.now = options.now ?? Date.now;
    this.intake = new RawIntake(this.limits);
  }

  get hasStation(): boolean {
    return this.options.station !== null;
  }

  start(): void {
    if (this.timer !== null) return;
    this.readStation();
    this.timer = setInterval(() => void this.flush(), this.limits.flushMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  /** The listener gets every batched update until it unsubscribes. */
  subscribe(listener: (update: DashboardUpdate) => void): () => void {
    const entry = (u: DashboardUpdate): void => listener(u);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  /** Devices the registry knows, shown offline until they connect. */
  addRegistered(devices: readonly { id: string; kind: string }[]): void {
    for (const d of devices) {
      const r = this.record(d.id);
      if (r !== null && r.kind === null) {
        r.kind = d.kind;
        this.dirtyDevices.add(d.id);
      }
    }
  }

  /** The broker's availability view: catches connects and disconnects, and devices on other nodes. */
  applyPresence(view: ReadonlyMap<string, PresenceEntry>): void {
    let hidden = 0;
    for (const [id, entry] of view) {
      const r = this.record(id);
      if (r === null) {
        hidden += 1;
        continue;
      }
      const newerState = entry.state !== undefined && (r.state === null || (entry.state.requestId !== r.state.requestId && entry.state.sentAt >= r.state.sentAt));
      if (r.connected === entry.status && r.since === entry.since && !newerState) continue;
      r.connected = entry.status;
      r.since = entry.since;
      if (newerState && entry.state !== undefined) r.state = entry.state;
      this.dirtyDevices.add(id);
    }
    if (hidden !== this.devicesHidden) {
      this.devicesHidden = hidden;
      this.hiddenChanged = true;
    }
  }

  applyState(state: DeviceState): void {
    const r = this.record(state.deviceId);
    if (r === null) return;
    const connected = state.status === 'offline' ? 'offline' : 'online';
    if (r.connected !== connected) r.since = this.now();
    r.connected = connected;
    r.state = state;
    this.dirtyDevices.add(r.id);
  }

  applyEvent(event: DeviceEvent): void {
    const view = eventView(event.deviceId, event.kind, event.detail, event.sentAt, this.limits);
    pushBounded(this.events, view, this.limits.eventsMax);
    pushBounded(this.newEvents, view, this.limits.eventsMax);
    const r = this.devices.get(event.deviceId);
    if (r !== undefined) {
      r.lastEvent = view;
      this.dirtyDevices.add(r.id);
    }
  }

  applyResult(result: SettleResult): void {
    const key = `${result.deviceId}/${result.requestId}`;
    const known = this.rows.get(key);
    if (known !== undefined && known.status === result.status) return; // a redelivery: the same answer again
    const row: Row = {
      key, deviceId: result.deviceId, requestId: result.requestId, at: result.sentAt, status: result.status,
      reason: result.reason ?? null, amount: result.amount ?? null, ticket: result.ticket !== undefined,
      walletId: known?.walletId ?? null, article: known?.article ?? null, journalState: null, outcome: known?.outcome ?? null, enriched: false,
    };
    this.rows.delete(key);
    this.rows.set(key, row);
    while (this.rows.size > this.limits.settlementsMax) {
      const oldest = this.rows.keys().next().value as string;
      this.rows.delete(oldest);
      this.dirtyRows.delete(oldest);
    }
    this.dirtyRows.add(key);
  }

  /** What the device reported after a settlement (dispensed, passed, …). */
  applyOutcome(outcome: Outcome): void {
    const key = `${outcome.deviceId}/${outcome.settleRequestId}`;
    const row = this.rows.get(key);
    if (row === undefined) return;
    row.outcome = outcome.outcome;
    this.dirtyRows.add(key);
  }

  /** The core applied an outcome: the journal state moved on; read it again at the next flush. */
  applyOutcomeAck(ack: OutcomeAck): void {
    const key = `${ack.deviceId}/${ack.settleRequestId}`;
    const row = this.rows.get(key);
    if (row === undefined) return;
    row.enriched = false;
    this.dirtyRows.add(key);
  }

  /** The station's phones or devices changed (StationView.subscribe). */
  stationChanged(): void {
    this.stationDirty = true;
  }

  async snapshot(): Promise<DashboardSnapshot> {
    this.takeIn(true);
    if (this.stationDirty) this.readStation();
    const rows = [...this.rows.values()];
    await this.enrich(rows);
    return {
      at: this.now(),
      station: this.hasStation,
      devices: [...this.devices.values()].map((r) => deviceView(r, this.limits)),
      devicesHidden: this.devicesHidden,
      settlements: rows.reverse().map(publicRow),
      events: [...this.events].reverse(),
      phones: this.phones,
    };
  }

  /** Sends what changed since the last flush to every listener. Public for tests; the timer calls it. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      if (this.listeners.size > 0) this.takeIn(false);
      if (this.stationDirty) this.readStation();
      if (this.dirtyDevices.size === 0 && this.dirtyRows.size === 0 && this.newEvents.length === 0 && !this.phonesChanged && !this.hiddenChanged) return;
      const deviceIds = this.dirtyDevices;
      const rowKeys = this.dirtyRows;
      const events = this.newEvents;
      const phones = this.phonesChanged;
      this.dirtyDevices = new Set();
      this.dirtyRows = new Set();
      this.newEvents = [];
      this.phonesChanged = false;
      this.hiddenChanged = false;
      if (this.listeners.size === 0) return;
      const rows = [...rowKeys].map((k) => this.rows.get(k)).filter((r): r is Row => r !== undefined);
      await this.enrich(rows);
      const update: DashboardUpdate = {
        devices: [...deviceIds].map((id) => this.devices.get(id)).filter((r): r is DeviceRecord => r !== undefined).map((r) => deviceView(r, this.limits)),
        devicesHidden: this.devicesHidden,
        settlements: rows.map(publicRow),
        events,
        ...(phones ? { phones: this.phones } : {}),
      };
      for (const listener of this.listeners) {
        try {
          listener(update);
        } catch (err) {
          this.options.onError?.(err, 'stream listener');
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Decodes what the intake holds and, when due (or `now`), re-reads the broker's presence view. */
  private takeIn(presenceNow: boolean): void {
    this.intake.drain(this);
    const presence = this.options.presence;
    if (presence === undefined || (!presenceNow && this.now() - this.presenceReadAt < this.limits.reconcileMs)) return;
    this.presenceReadAt = this.now();
    try {
      this.applyPresence(presence());
    } catch (err) {
      this.options.onError?.(err, 'presence view');
    }
  }

  /** The device's record, created if there is room; null when `devicesMax` are shown already. */
  private record(id: string): DeviceRecord | null {
    const known = this.devices.get(id);
    if (known !== undefined) return known;
    if (this.devices.size >= this.limits.devicesMax) return null;
    const r: DeviceRecord = { id, kind: null, role: null, connected: null, since: null, state: null, lastEvent: null, station: null };
    this.devices.set(id, r);
    this.dirtyDevices.add(id);
    return r;
  }

  private readStation(): void {
    this.stationDirty = false;
    const station = this.options.station;
    if (station === null) return;
    try {
      for (const d of station.devices().slice(0, this.limits.devicesMax)) {
        const r = this.record(d.id);
        if (r === null) continue;
        r.station = d;
        this.dirtyDevices.add(d.id);
      }
      this.phones = station.phones().slice(0, this.limits.phonesMax).map((p) => phoneView(p, this.limits)).filter((p): p is PhoneView => p !== null);
      this.phonesChanged = true;
    } catch (err) {
      this.options.onError?.(err, 'station view');
    }
  }

  private async enrich(rows: readonly Row[]): Promise<void> {
    const todo = rows.filter((r) => !r.enriched);
    for (let i = 0; i < todo.length; i += this.limits.lookupsInFlightMax) {
      await Promise.all(todo.slice(i, i + this.limits.lookupsInFlightMax).map(async (row) => {
        row.enriched = true;
        try {
          const facts = await this.options.lookup(row.deviceId, row.requestId);
          if (facts === null) return;
          row.walletId = facts.walletId;
          row.article = facts.article;
          row.journalState = facts.state;
        } catch (err) {
          this.options.onError?.(err, 'journal lookup');
        }
      }));
    }
  }
}

function publicRow(row: Row): SettlementView {
  const { enriched: _enriched, ...view } = row;
  return view;
}
