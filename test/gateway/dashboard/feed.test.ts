/**
 * The dashboard's model on its own: bounded lists, batched updates, journal
 * reads only for rows being sent, presence from the broker's view, and a
 * station whose texts are cut and whose failures do not stop the feed.
 */
import { describe, expect, it } from 'vitest';
import { DashboardFeed } from '../../../gateway/dashboard/feed.ts';
import type { FeedOptions, JournalFacts } from '../../../gateway/dashboard/feed.ts';
import { resolveDashboardLimits } from '../../../gateway/dashboard/limits.ts';
import type { DashboardLimits } from '../../../gateway/dashboard/limits.ts';
import type { PhoneView, StationView } from '../../../gateway/dashboard/station-view.ts';
import type { DashboardUpdate } from '../../../gateway/dashboard/views.ts';
import { ackMsg, eventMsg, outcomeMsg, resultMsg, stateMsg } from './messages.ts';

function feedWith(limits: Partial<DashboardLimits> = {}, o: Partial<FeedOptions> = {}) {
  const lookups: string[] = [];
  const errors: string[] = [];
  const feed = new DashboardFeed({
    limits: resolveDashboardLimits(limits),
    station: null,
    lookup: (deviceId, requestId): Promise<JournalFacts> => {
      lookups.push(`${deviceId}/${requestId}`);
      return Promise.resolve({ walletId: 'w-1', article: 'cola-330', state: 'withdrawn' });
    },
    onError: (_err, what) => errors.push(what),
    ...o,
  });
  const updates: DashboardUpdate[] = [];
  feed.subscribe((u) => updates.push(u));
  return { feed, updates, lookups, errors };
}

const phone = (name: string, extra: Partial<PhoneView> = {}): PhoneView => ({
  name, walletId: `wallet-${name}`, account: '100-0000001', balance: { minor: 1000, currency: 'EUR' }, tickets: [], admission: null, emoney: null, ...extra,
});

function stationOf(phones: () => readonly PhoneView[]): StationView {
  return {
    phones, devices: () => [{ id: 'gate-1', kind: 'gate', role: 'entry gate' }],
    tap: () => Promise.resolve('ok'), jam: () => Promise.resolve('ok'), cut: () => Promise.resolve('ok'), subscribe: () => () => undefined,
  };
}

describe('dashboard feed', () => {
  it('keeps the last settlementsMax settlements, newest first, a redelivery once', async () => {
    const { feed } = feedWith({ settlementsMax: 3 });
    const results = Array.from({ length: 5 }, (_, i) => resultMsg('vm-1', { minor: 100 + i }));
    for (const r of results) feed.applyResult(r);
    feed.applyResult(results[4]!);
    const snap = await feed.snapshot();
    expect(snap.settlements.map((s) => s.amount?.minor)).toEqual([104, 103, 102]);
    expect(snap.settlements[0]).toMatchObject({ deviceId: 'vm-1', status: 'approved', walletId: 'w-1', article: 'cola-330', journalState: 'withdrawn' });
  });

  it('batches changes into one update per flush and sends nothing when nothing changed', async () => {
    const { feed, updates } = feedWith();
    feed.applyState(stateMsg('gate-1', { machineState: 'idle' }));
    feed.applyState(stateMsg('gate-1', { machineState: 'open', outputs: [{ name: 'gate', kind: 'relay', state: 'open' }] }));
    feed.applyEvent(eventMsg('gate-1', 'tap', 'Ada'));
    await feed.flush();
    await feed.flush();
    expect(updates).toHaveLength(1);
    expect(updates[0]!.devices).toHaveLength(1);
    expect(updates[0]!.devices[0]).toMatchObject({ id: 'gate-1', presence: 'online', machineState: 'open', outputs: [{ name: 'gate', kind: 'relay', state: 'open' }] });
    expect(updates[0]!.devices[0]!.lastEvent).toMatchObject({ kind: 'tap', detail: 'Ada' });
    expect(updates[0]!.events.map((e) => e.kind)).toEqual(['tap']);
  });

  it('reads the journal only for rows it sends, and again after the outcome is applied', async () => {
    const { feed, updates, lookups } = feedWith();
    const r = resultMsg('vm-1');
    feed.applyResult(r);
    expect(lookups).toEqual([]);
    await feed.flush();
    expect(lookups).toHaveLength(1);
    feed.applyOutcome(outcomeMsg('vm-1', r.requestId, 'dispensed'));
    await feed.flush();
    expect(lookups).toHaveLength(1);
    expect(updates[1]!.settlements[0]).toMatchObject({ outcome: 'dispensed' });
    feed.applyOutcomeAck(ackMsg('vm-1', r.requestId));
    await feed.flush();
    expect(lookups).toHaveLength(2);
  });

  it('does no journal reads while nobody listens', async () => {
    const lookups: string[] = [];
    const feed = new DashboardFeed({ limits: resolveDashboardLimits(), station: null, lookup: (d, q) => (lookups.push(`${d}/${q}`), Promise.resolve(null)) });
    for (let i = 0; i < 20; i += 1) feed.applyResult(resultMsg('vm-1'));
    await feed.flush();
    expect(lookups).toEqual([]);
  });

  it('keeps at most lookupsInFlightMax journal reads running', async () => {
    let running = 0;
    let most = 0;
    const { feed } = feedWith({ lookupsInFlightMax: 3 }, {
      lookup: async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running -= 1;
        return null;
      },
    });
    for (let i = 0; i < 20; i += 1) feed.applyResult(resultMsg('vm-1'));
    await feed.flush();
    expect(most).toBe(3);
  });

  it('shows at most devicesMax devices and counts the rest', async () => {
    const { feed } = feedWith({ devicesMax: 3 });
    const view = new Map(Array.from({ length: 10 }, (_, i) => [`dev-${i}`, { status: 'online' as const, since: 1000 + i }]));
    feed.applyPresence(view);
    feed.applyState(stateMsg('dev-9'));
    const snap = await feed.snapshot();
    expect(snap.devices.map((d) => d.id)).toEqual(['dev-0', 'dev-1', 'dev-2']);
    expect(snap.devicesHidden).toBe(7);
  });

  it('takes presence from the broker view: a disconnect shows offline, the device\'s own out-of-service is kept', async () => {
    const { feed } = feedWith();
    feed.addRegistered([{ id: 'never-seen', kind: 'pos' }]);
    feed.applyState(stateMsg('gate-1', { status: 'out-of-service' }));
    expect((await feed.snapshot()).devices.find((d) => d.id === 'gate-1')?.presence).toBe('out-of-service');
    feed.applyPresence(new Map([['gate-1', { status: 'offline' as const, since: 5 }]]));
    const snap = await feed.snapshot();
    expect(snap.devices.find((d) => d.id === 'gate-1')).toMatchObject({ presence: 'offline', since: 5 });
    expect(snap.devices.find((d) => d.id === 'never-seen')).toMatchObject({ presence: 'offline', since: null, kind: 'pos' });
  });

  it('cuts outputs, events and station texts to their limits', async () => {
    const long = 'x'.repeat(500);
    const phones = [phone('Ada', { tickets: Array.from({ length: 40 }, () => long), admission: long }), ...Array.from({ length: 10 }, (_, i) => phone(`p${i}`))];
    const { feed } = feedWith({ outputsPerDeviceMax: 2, eventsMax: 4, phonesMax: 5, listItemsMax: 3, textLengthMax: 20 }, { station: stationOf(() => phones) });
    feed.applyState(stateMsg('gate-1', { outputs: Array.from({ length: 10 }, (_, i) => ({ name: `r${i}`, kind: 'relay' as const, state: 'closed' })) }));
    for (let i = 0; i < 10; i += 1) feed.applyEvent(eventMsg('gate-1', 'info', `n${i}`));
    const snap = await feed.snapshot();
    expect(snap.station).toBe(true);
    expect(snap.devices[0]).toMatchObject({ id: 'gate-1', role: 'entry gate' });
    expect(snap.devices[0]!.outputs).toHaveLength(2);
    expect(snap.events.map((e) => e.detail)).toEqual(['n9', 'n8', 'n7', 'n6']);
    expect(snap.phones).toHaveLength(5);
    expect(snap.phones[0]!.tickets).toHaveLength(3);
    expect(snap.phones[0]!.tickets[0]).toHaveLength(20);
    expect(snap.phones[0]!.admission).toHaveLength(20);
  });

  it('survives a station that throws and a listener that throws', async () => {
    let fail = true;
    const { feed, errors } = feedWith({}, { station: stationOf(() => { if (fail) throw new Error('broken'); return [phone('Ada')]; }) });
    feed.subscribe(() => { throw new Error('listener bug'); });
    feed.applyState(stateMsg('gate-1'));
    await feed.flush();
    expect(errors).toEqual(['station view', 'stream listener']);
    fail = false;
    feed.stationChanged();
    expect((await feed.snapshot()).phones.map((p) => p.name)).toEqual(['Ada']);
  });
});

describe('dashboard limits', () => {
  it('refuses a limit that is not a positive integer, naming it', () => {
    expect(() => resolveDashboardLimits({ streamClientsMax: 0 })).toThrow(/streamClientsMax/);
    expect(() => resolveDashboardLimits({ flushMs: 1.5 })).toThrow(/flushMs/);
    expect(() => resolveDashboardLimits({ nope: 1 } as Partial<DashboardLimits>)).toThrow(/unknown dashboard limit nope/);
    expect(resolveDashboardLimits({ settlementsMax: 7 }).settlementsMax).toBe(7);
  });
});

describe('dashboard intake', () => {
  const raw = (m: object) => Buffer.from(JSON.stringify(m));

  it('keeps messages raw until someone looks, then decodes only the newest', async () => {
    const { feed, updates } = feedWith({ settlementsMax: 2 });
    const results = Array.from({ length: 5 }, (_, i) => resultMsg('vm-1', { minor: 100 + i }));
    for (const r of results) feed.intake.result('vm-1', raw(r));
    feed.intake.result('vm-1', raw(ackMsg('vm-1', results[4]!.requestId)));
    feed.intake.outcome('vm-1', raw(outcomeMsg('vm-1', results[4]!.requestId, 'dispensed')));
    feed.intake.state('gate-1', raw(stateMsg('gate-1', { machineState: 'idle' })));
    feed.intake.state('gate-1', raw(stateMsg('gate-1', { machineState: 'open' })));
    feed.intake.event('gate-1', raw(eventMsg('gate-1', 'tap')));
    expect((await feed.snapshot()).settlements.map((s) => [s.amount?.minor, s.outcome])).toEqual([[104, 'dispensed'], [103, null]]);
    await feed.flush();
    const u = updates[0]!;
    expect(u.devices.find((d) => d.id === 'gate-1')?.machineState).toBe('open');
    expect(u.events.map((e) => e.kind)).toEqual(['tap']);
    expect(feed.intake.invalid).toBe(0);
  });

  it('ignores and counts what does not decode or names another device than its topic', async () => {
    const { feed } = feedWith();
    feed.intake.state('gate-1', Buffer.from('{not json'));
    feed.intake.state('gate-2', raw(stateMsg('gate-3')));
    feed.intake.result('vm-1', raw({ ...resultMsg('vm-1'), extra: 1 }));
    feed.intake.event('gate-1', Buffer.alloc(0));
    const snap = await feed.snapshot();
    expect(snap.devices).toEqual([]);
    expect(snap.settlements).toEqual([]);
    expect(feed.intake.invalid).toBe(4);
  });

  it('keeps at most one pending state per device and devicesMax devices', async () => {
    const { feed } = feedWith({ devicesMax: 2 });
    for (let i = 0; i < 5; i += 1) feed.intake.state(`dev-${i}`, raw(stateMsg(`dev-${i}`)));
    expect((await feed.snapshot()).devices.map((d) => d.id)).toEqual(['dev-0', 'dev-1']);
  });

  it('reads the broker\'s presence view for a snapshot, and at most every reconcileMs while streaming', async () => {
    let reads = 0;
    let now = 0;
    const { feed } = feedWith({ reconcileMs: 1000 }, { now: () => now, presence: () => (reads += 1, new Map([['gate-1', { status: 'online' as const, since: 1 }]])) });
    await feed.flush();
    await feed.flush();
    expect(reads).toBe(1);
    now = 1000;
    await feed.flush();
    expect(reads).toBe(2);
    expect((await feed.snapshot()).devices.map((d) => d.presence)).toEqual(['online']);
    expect(reads).toBe(3);
  });
});
