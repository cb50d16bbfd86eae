/**
 * The demo station end to end, in this process: real device hosts on
 * simulated parts, phones of the demo wallets, the gateway and core on a temp
 * data directory. Each tap goes through the device's own program (keypad,
 * virtual PN532 with its timing, relays, sensors) and the core.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stationPaths } from '../../../sim/station/station-data.ts';
import { defaultStationFile } from '../../../cli/commands/start-station.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import { eventually, startTestStation } from './fixtures.ts';

type Running = Awaited<ReturnType<typeof startTestStation>>;
let s: Running;

const balance = (name: string) => s.station.phones().find((p) => p.name === name)!.balance.minor;
const ledger = async (name: string) => (await s.gw.core.store.getAccount(s.station.phones().find((p) => p.name === name)!.account))!.balance;
const configVersions = (data: string) => Object.fromEntries(['gate-entry-1', 'gate-exit-1', 'vending-1', 'kiosk-1', 'pos-1'].map((id) => [id, (JSON.parse(readFileSync(join(data, 'device-configs', `${id}.json`), 'utf8')) as { version: number }).version]));

beforeAll(async () => {
  s = await startTestStation();
}, 30_000);

afterAll(async () => {
  await s?.close();
  s?.cleanup();
});

describe('the demo station', () => {
  it('lists its five devices and five funded phones, every device online with its config', () => {
    expect(s.station.devices().map((d) => [d.id, d.kind, d.role])).toEqual([
      ['gate-entry-1', 'gate', 'entry gate'], ['gate-exit-1', 'gate', 'exit gate'], ['vending-1', 'vending', 'snack machine'],
      ['kiosk-1', 'kiosk', 'ticket kiosk'], ['pos-1', 'pos', 'purchase terminal'],
    ]);
    expect(s.station.devices().find((d) => d.id === 'vending-1')!.slots).toEqual(['A1', 'A2', 'B1', 'B2']);
    expect(s.station.phones().map((p) => [p.name, p.balance.minor])).toEqual([['Ada', 10_000], ['Ben', 5_000], ['Cleo', 2_500], ['Dev', 1_000], ['Eve', 0]]);
    expect(s.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard$/);
  });

  it('entry then exit: the entry writes an admission, the exit charges the table fare and the gate opens both times', async () => {
    expect(await s.station.tap('Ada', 'gate-entry-1')).toBe('opened: entered at central');
    expect(s.station.phones()[0]!.admission).toMatch(/^in at central \(gate-entry-1\) since \d\d:\d\d$/);
    expect(await s.station.tap('Ada', 'gate-exit-1')).toBe('opened: fare 1.80 EUR, passed');
    expect(s.station.phones()[0]!.admission).toBeNull();
    expect(balance('Ada')).toBe(10_000 - 180);
    expect(await ledger('Ada')).toBe(10_000 - 180);
  });

  it('vending: the slot is typed, the spiral turns, the article falls, the sale is settled', async () => {
    expect(await s.station.tap('Ben', 'vending-1')).toBe('approved 1.50 EUR cola-330: dispensed');
    expect(await s.station.tap('Ben', 'vending-1', 'a2')).toBe('approved 2.00 EUR crisps-50: dispensed');
    expect(balance('Ben')).toBe(5_000 - 150 - 200);
  });

  it('vending: a jammed slot drops nothing once — vend-failed and refunded — then sells again', async () => {
    expect(await s.station.jam('vending-1', 'A2')).toBe('slot A2 jammed: its next vend drops nothing');
    const before = await ledger('Ben');
    expect(await s.station.tap('Ben', 'vending-1', 'A2')).toBe('approved 2.00 EUR crisps-50: vend-failed');
    await eventually('the refund', async () => (await ledger('Ben')) === before);
    expect(await s.station.tap('Ben', 'vending-1', 'A2')).toBe('approved 2.00 EUR crisps-50: dispensed');
    await expect(s.station.jam('vending-1', 'Z9')).rejects.toMatchObject({ code: 'TS_ERR_STATION_UNKNOWN_DEVICE' });
    await expect(s.station.jam('gate-entry-1')).rejects.toMatchObject({ code: 'TS_ERR_STATION_UNKNOWN_DEVICE' });
  });

  it('vending: the age-restricted article is declined for Dev (under 16), the cooling-off article is sold to Ada', async () => {
    expect(await s.station.tap('Dev', 'vending-1', 'B1')).toBe('declined: not-eligible');
    expect(balance('Dev')).toBe(1_000);
    expect(await s.station.tap('Ada', 'vending-1', 'B2')).toBe('approved 25.00 EUR earbuds: dispensed (cooling-off)');
  });

  it('kiosk: a ticket is sold and lands on the phone; terminal: an article and a keyed amount', async () => {
    expect(await s.station.tap('Cleo', 'kiosk-1', 'T1')).toBe('ticket on the phone: Day pass: the ticket is on your phone.');
    expect(s.station.phones().find((p) => p.name === 'Cleo')!.tickets).toEqual([expect.stringMatching(/^day-pass, 10 uses, until \d\d:\d\d$/)]);
    expect(balance('Cleo')).toBe(2_500 - 700);
    expect(await s.station.tap('Cleo', 'pos-1')).toBe('approved 2.50 EUR COFFEE');
    expect(await s.station.tap('Cleo', 'pos-1', '1250')).toBe('approved 12.50 EUR amount');
    expect(balance('Cleo')).toBe(2_500 - 700 - 250 - 1250);
  });

  it('Eve has no funds: the exit gate stays closed, the machine turns nothing', async () => {
    expect(await s.station.tap('Eve', 'gate-exit-1')).toBe('refused: declined: insufficient-funds');
    expect(await s.station.tap('Eve', 'vending-1')).toBe('declined: insufficient-funds');
    expect(balance('Eve')).toBe(0);
  });

  it('unknown names, a busy phone and a kiosk product that does not exist are coded errors', async () => {
    await expect(s.station.tap('Zed', 'gate-entry-1')).rejects.toMatchObject({ code: 'TS_ERR_STATION_UNKNOWN_PHONE' });
    await expect(s.station.tap('Ada', 'gate-9')).rejects.toMatchObject({ code: 'TS_ERR_STATION_UNKNOWN_DEVICE' });
    await expect(s.station.tap('Ada', 'kiosk-1', 'T9')).rejects.toMatchObject({ code: 'TS_ERR_STATION_UNKNOWN_DEVICE' });
    await expect(s.station.tap('Ada', 'vending-1', 'Z9')).rejects.toMatchObject({ code: 'TS_ERR_STATION_UNKNOWN_DEVICE' });
    const first = s.station.tap('Ben', 'gate-entry-1');
    await expect(s.station.tap('Ben', 'gate-exit-1')).rejects.toMatchObject({ code: 'TS_ERR_STATION_BUSY' });
    await expect(s.station.tap('Cleo', 'gate-entry-1')).rejects.toMatchObject({ code: 'TS_ERR_STATION_BUSY' });
    expect(await first).toBe('opened: entered at central');
  });

  it('cut off: the device goes offline and takes no tap; reconnected, it serves again from the same data', async () => {
    let heard = 0;
    const stop = s.station.subscribe(() => void (heard += 1));
    expect(await s.station.cut('gate-exit-1', true)).toBe('gate-exit-1 cut off');
    expect(s.station.devices().find((d) => d.id === 'gate-exit-1')!.cutOff).toBe(true);
    await eventually('offline at the broker', () => s.gw.broker.online().get('gate-exit-1')?.status === 'offline');
    await expect(s.station.tap('Ben', 'gate-exit-1')).rejects.toMatchObject({ code: 'TS_ERR_STATION_CUT_OFF' });
    expect(await s.station.cut('gate-exit-1', true)).toBe('gate-exit-1 is already cut off');
    expect(await s.station.cut('gate-exit-1', false)).toBe('gate-exit-1 reconnected');
    await eventually('online again', () => s.gw.broker.online().get('gate-exit-1')?.status === 'online');
    expect(await s.station.tap('Ben', 'gate-exit-1')).toBe('opened: fare 1.80 EUR, passed');
    expect(heard).toBeGreaterThanOrEqual(3);
    stop();
  });

  it('keeps each gate\'s admission key owner-only in the data directory, its public half in every config', () => {
    const paths = stationPaths(s.data);
    for (const gate of ['gate-entry-1', 'gate-exit-1']) {
      expect(statSync(paths.admissionKey(gate)).mode & 0o777).toBe(0o600);
      const { publicKey } = JSON.parse(readFileSync(paths.admissionKey(gate), 'utf8')) as { publicKey: string };
      const config = JSON.parse(readFileSync(join(s.data, 'device-configs', 'gate-exit-1.json'), 'utf8')) as { keys: { gates: { publicKey: string }[]; issuer: { keyId: string }[] } };
      expect(config.keys.gates.map((k) => k.publicKey)).toContain(publicKey);
      expect(config.keys.issuer.map((k) => k.keyId)).toEqual([s.gw.issuerPublicKey!.keyId]);
    }
  });

  it('a restart on the same data keeps the configs, the counters, the open journeys and the tickets', async () => {
    expect(await s.station.tap('Ada', 'gate-entry-1')).toBe('opened: entered at central');
    const versions = configVersions(s.data);
    const { data, keys } = s;
    await s.close();
    s = Object.assign(await startTestStation({ data, keys }), { cleanup: s.cleanup });
    expect(configVersions(data)).toEqual(versions);
    for (const d of s.station.devices()) expect(s.gw.broker.online().get(d.id)?.status).toBe('online');
    expect(s.station.phones()[0]!.admission).toMatch(/^in at central/);
    expect(s.station.phones().find((p) => p.name === 'Cleo')!.tickets).toHaveLength(1);
    const before = balance('Ada');
    // The counters went on from their files: a repeated counter would be declined as a replay.
    expect(await s.station.tap('Ada', 'gate-exit-1')).toBe('opened: fare 1.80 EUR, passed');
    expect(await s.station.tap('Ada', 'vending-1')).toBe('approved 1.50 EUR cola-330: dispensed');
    expect(balance('Ada')).toBe(before - 180 - 150);
    expect(await s.gw.core.audit()).toMatchObject({ ok: true });
  }, 30_000);
});

describe('a station file whose section names a part the parts lack', () => {
  it('stops the start with TS_ERR_STATION_FILE naming the device and the key, and leaves nothing running', async () => {
    const t = tempDir('tapsettle-station-bad-');
    try {
      const file = join(t.dir, 'mine.yaml');
      writeFileSync(file, readFileSync(defaultStationFile, 'utf8').replace('A1: { relay: slot-a1 }', 'A1: { relay: slot-z9 }'));
      await expect(startTestStation({ data: join(t.dir, 'data'), stationFile: file })).rejects.toMatchObject({
        code: 'TS_ERR_STATION_FILE', message: expect.stringMatching(/^devices\.2 \(vending-1\): relay of slot A1 \(vending\.slots\.A1\.relay\) "slot-z9" is not among the parts/) as unknown,
      });
    } finally {
      t.cleanup();
    }
  }, 30_000);
});
