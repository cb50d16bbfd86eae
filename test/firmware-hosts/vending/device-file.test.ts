/**
 * The vending section of the device file (errors name the key, defaults
 * filled in), the part checks at start, and the small pieces of the host on
 * their own: the slot book, one vend against a relay and a drop sensor, and
 * the keypad inbox.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDeviceFile } from '../../../firmware-hosts/runtime/host-kind.ts';
import { TextDisplay } from '../../../firmware-hosts/runtime/parts.ts';
import type { DeviceParts } from '../../../firmware-hosts/runtime/parts.ts';
import { vendingDefaults, vendingKind } from '../../../firmware-hosts/vending/index.ts';
import type { VendingSettings } from '../../../firmware-hosts/vending/index.ts';
import { CodeInbox, pendingCodesMax } from '../../../firmware-hosts/vending/code-inbox.ts';
import { vend } from '../../../firmware-hosts/vending/dispense.ts';
import { checkParts } from '../../../firmware-hosts/vending/parts-check.ts';
import { SlotBook } from '../../../firmware-hosts/vending/slots.ts';
import { SimDigitalInput } from '../../../sim/gpio/sim-digital-input.ts';
import { SimRelay } from '../../../sim/gpio/sim-relay.ts';
import { catalog, deviceFile } from './vending-fixtures.ts';

const base = { device: { id: 'vending-1', kind: 'vending', secret: 'A'.repeat(43) }, gateway: { url: 'mqtt://127.0.0.1:1884' }, dataDir: './d' };
const parse = (file: Record<string, unknown>) => parseDeviceFile(vendingKind, { ...base, ...file }, 'vending.yaml');
const minimal = { vending: { slots: { A1: { relay: 'slot-a1' } }, dropSensor: 'drop' } };

describe('vending device file', () => {
  it('parses a minimal section with the named defaults', () => {
    const s = parse(minimal).section;
    expect(s).toMatchObject({ ...vendingDefaults, dropSensor: 'drop' });
    expect(parse(deviceFile()).section.slots.C1).toEqual({ relay: 'slot-c1', capacity: 1 });
  });

  it.each([
    [{ vending: { ...minimal.vending, pulseMs: 10 } }, /vending\.pulseMs/],
    [{ vending: { ...minimal.vending, slots: {} } }, /vending\.slots: at least one slot/],
    [{ vending: { ...minimal.vending, slots: { a1: { relay: 'x' } } } }, /vending\.slots/],
    [{ vending: { ...minimal.vending, slots: { A1: {} } } }, /vending\.slots\.A1\.relay/],
    [{ vending: { ...minimal.vending, slots: { A1: { relay: 'x', capacity: 0 } } } }, /vending\.slots\.A1\.capacity/],
    [{ vending: { slots: { A1: { relay: 'x' } } } }, /vending\.dropSensor/],
    [{ vending: { ...minimal.vending, spin: 1 } }, /vending.*spin|Unrecognized/],
    [{ vending: { ...minimal.vending, pulseMs: 3000, dropDeadlineMs: 1000 } }, /vending\.dropDeadlineMs/],
    [{ vending: { ...minimal.vending, outcomeDeadlineSec: 5 } }, /vending\.outcomeDeadlineSec/],
    [{ vending: { ...minimal.vending, failuresBeforeDisable: 0 } }, /vending\.failuresBeforeDisable/],
    [{}, /vending/],
  ])('names the bad key (%#)', (file, message) => {
    expect(() => parse(file)).toThrow(message);
    expect(() => parse(file)).toThrow(expect.objectContaining({ code: 'TS_ERR_DEVICE_FILE' }) as Error);
  });

  it('fuzzed sections are parsed or refused with TS_ERR_DEVICE_FILE, never anything else', () => {
    fc.assert(fc.property(fc.anything(), (vending) => {
      try {
        parse({ vending });
      } catch (err) {
        expect((err as { code?: string }).code).toBe('TS_ERR_DEVICE_FILE');
      }
    }), { numRuns: 300, seed: 10 });
  });

  it('at start, a missing part or a pulse the relay refuses is a coded error naming it', () => {
    const s = parse(minimal).section;
    const relay = new SimRelay({ name: 'slot-a1', pulseMsMax: 2000 });
    const drop = new SimDigitalInput({ name: 'drop', kind: 'drop-sensor', initial: false });
    const parts = (over: Partial<DeviceParts>): DeviceParts => ({
      nfc: {} as DeviceParts['nfc'], codeReader: {} as DeviceParts['codeReader'], relays: new Map([['slot-a1', relay]]), inputs: new Map([['drop', drop]]),
      display: new TextDisplay(), close: () => Promise.resolve(), ...over,
    });
    expect(() => checkParts(parts({ nfc: null }), s)).toThrow(/parts\.nfc/);
    expect(() => checkParts(parts({ codeReader: null }), s)).toThrow(/parts\.codeReader/);
    expect(() => checkParts(parts({ relays: new Map() }), s)).toThrow(/vending\.slots\.A1\.relay/);
    expect(() => checkParts(parts({ inputs: new Map() }), s)).toThrow(/vending\.dropSensor/);
    expect(() => checkParts(parts({}), { ...s, pulseMs: 3000 })).toThrow(expect.objectContaining({ code: 'TS_ERR_DEVICE_FILE', message: expect.stringMatching(/vending\.pulseMs/) as string }) as Error);
    const door = new SimDigitalInput({ name: 'drop', kind: 'door-switch', initial: false });
    expect(() => checkParts(parts({ inputs: new Map([['drop', door]]) }), s)).toThrow(/not a drop-sensor/);
    relay.dispose();
  });
});

describe('slot book', () => {
  const settings = { slots: { A1: { relay: 'r1' }, A2: { relay: 'r2', capacity: 2 }, A3: { relay: 'r3' } }, failuresBeforeDisable: 2 } as Pick<VendingSettings, 'slots' | 'failuresBeforeDisable'>;
  const config = { v: 1, type: 'config', requestId: '0190c0de-0000-7000-8000-000000000000', sentAt: 0, deviceId: 'vending-1', version: 1, merchant: 'm', catalog } as const;

  it('offers, refuses with a reason, disables after consecutive failures only, and refills', () => {
    const book = new SlotBook(settings);
    expect(book.offer('A1', null)).toMatchObject({ ok: false, why: 'no-config' });
    expect(book.offer('Z1', config)).toMatchObject({ ok: false, why: 'unknown-slot' });
    expect(book.offer('A3', config)).toMatchObject({ ok: false, why: 'no-price' });
    expect(book.offer('A1', config)).toMatchObject({ ok: true, relay: 'r1', item: { article: 'cola-330' } });
    expect(book.record('A1', false)).toEqual({ disabledNow: false, failures: 1 });
    book.record('A1', true);
    expect(book.record('A1', false)).toEqual({ disabledNow: false, failures: 1 });
    expect(book.record('A1', false)).toEqual({ disabledNow: true, failures: 2 });
    expect(book.record('A1', false).disabledNow).toBe(false);
    expect(book.offer('A1', config)).toMatchObject({ ok: false, why: 'disabled' });
    book.record('A2', true);
    book.record('A2', true);
    expect(book.offer('A2', config)).toMatchObject({ ok: false, why: 'sold-out' });
    expect(book.outputs(config).map((o) => o.state)).toEqual(['disabled after 3 failures', 'sold-out', 'no-price']);
    expect(book.allDisabled()).toBe(false);
    book.refill();
    expect(book.offer('A1', config).ok).toBe(true);
    expect(book.offer('A2', config).ok).toBe(true);
  });
});

describe('one vend', () => {
  const parts = () => ({ relay: new SimRelay({ name: 'slot-a1' }), drop: new SimDigitalInput({ name: 'drop', kind: 'drop-sensor', debounceMs: 2, initial: false }) });

  it('a drop during the turn is dispensed; the relay is back at rest', async () => {
    const { relay, drop } = parts();
    relay.on('change', (s) => {
      if (s === 'open') setTimeout(() => void drop.pulse(20), 10);
    });
    const r = await vend(relay, drop, 60, 200);
    expect(r.dropped).toBe(true);
    expect(relay.state).toBe('closed');
    expect(relay.history().map((t) => t.state)).toEqual(['open', 'closed']);
    relay.dispose();
    drop.dispose();
  });

  it('no drop by the deadline, a blocked sensor and a refused pulse are failures; the relay ends closed', async () => {
    const { relay, drop } = parts();
    expect(await vend(relay, drop, 30, 80)).toMatchObject({ dropped: false, why: 'no-drop' });
    expect(relay.state).toBe('closed');
    expect(await vend(relay, drop, 20_000, 30_000)).toMatchObject({ dropped: false, why: 'relay-error' });
    drop.set(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(await vend(relay, drop, 30, 80)).toMatchObject({ dropped: false, why: 'sensor-blocked' });
    expect(relay.history().filter((t) => t.state === 'open')).toHaveLength(1);
    relay.dispose();
    drop.dispose();
  });
});

describe('keypad inbox', () => {
  it('drops codes while a sale runs, keeps only the last choice while waiting, and times out', async () => {
    const inbox = new CodeInbox();
    inbox.push('A1');
    expect(inbox.dropped).toBe(1);
    inbox.accept(true);
    for (const c of ['A1', 'A2', 'B1']) inbox.push(c);
    expect(inbox.dropped).toBe(1 + 3 - pendingCodesMax);
    expect(await inbox.next(10)).toBe('B1');
    expect(await inbox.next(10)).toBeNull();
    const waiting = inbox.next(1000);
    inbox.push('C1');
    expect(await waiting).toBe('C1');
    const woken = inbox.next(1000);
    inbox.wake();
    expect(await woken).toBeNull();
  });
});
