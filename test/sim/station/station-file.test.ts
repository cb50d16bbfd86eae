/** The station file: the shipped demo validates; every mistake is TS_ERR_STATION_FILE naming the key; fuzzed input never throws anything else. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../protocol/index.ts';
import { StationError } from '../../../sim/station/errors.ts';
import { stationConfigs } from '../../../sim/station/station-configs.ts';
import { loadStationFile, parseStationFile, stationFileBytesMax } from '../../../sim/station/station-file.ts';
import { defaultStationFile } from '../../../cli/commands/start-station.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';

const demo = () => parseYaml(readFileSync(defaultStationFile, 'utf8')) as Record<string, unknown> & { devices: Record<string, unknown>[]; phones: Record<string, unknown>[]; configs: Record<string, Record<string, unknown>> };

function refusal(mutate: (f: ReturnType<typeof demo>) => void): string {
  const f = demo();
  mutate(f);
  try {
    parseStationFile(f, 'station.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(StationError);
    expect((err as StationError).code).toBe('TS_ERR_STATION_FILE');
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('station file', () => {
  it('the shipped demo station validates: five devices, five phones, configs for each', () => {
    const f = loadStationFile(defaultStationFile);
    expect(f.devices.map((d) => d.kind)).toEqual(['gate', 'gate', 'vending', 'kiosk', 'pos']);
    expect(f.phones).toEqual(['Ada', 'Ben', 'Cleo', 'Dev', 'Eve'].map((name) => ({ name, wallet: name })));
    const catalog = f.configs['vending-1']!.catalog!;
    expect(catalog.some((c) => c.restrictions?.coolingOffSec !== undefined)).toBe(true);
    expect(catalog.some((c) => c.restrictions?.eligibility !== undefined)).toBe(true);
    expect(f.configs['kiosk-1']!.catalog!.every((c) => c.ticket !== undefined)).toBe(true);
    expect(f.configs['gate-exit-1']!.fareTable!.fares).toContainEqual({ from: 'central', to: 'harbour', fareMinor: 180 });
  });

  it('names the bad key', () => {
    expect(refusal((f) => delete f.version)).toBe('station.yaml: version: Invalid input: expected 1');
    expect(refusal((f) => (f.devices[0]!.kind = 'lift'))).toMatch(/^station\.yaml: devices\.0\.kind: /);
    expect(refusal((f) => (f.devices[2]!.vending = { ...(f.devices[2]!.vending as object), pulseMs: 5 }))).toMatch(/^station\.yaml: devices\.2\.vending\.pulseMs: /);
    expect(refusal((f) => ((f.devices[0]!.parts as { relays: { gate: { pin: number } } }).relays.gate.pin = 999))).toMatch(/^station\.yaml: devices\.0\.parts\.relays\.gate\.pin: /);
    expect(refusal((f) => (f.devices[0]!.parts = { nfc: { driver: 'pn532-uart', path: '/dev/ttyS0' } }))).toMatch(/devices\.0\.parts: a simulated station runs simulated parts only/);
    expect(refusal((f) => (f.devices[0]!.vending = {}))).toMatch(/devices\.0\.vending: a gate takes a "gate:" section/);
    expect(refusal((f) => (f.devices[0]!.gate = { mode: 'entry', stationId: 'x', admissionKeyFile: 'k.json' }))).toMatch(/devices\.0\.gate\.admissionKey: the station generates/);
    expect(refusal((f) => (f.devices[1]!.id = 'gate-entry-1'))).toBe('station.yaml: devices.1.id: gate-entry-1 is listed twice');
    expect(refusal((f) => f.phones.push({ name: 'Ada' }))).toBe('station.yaml: phones.5.name: Ada is listed twice');
    expect(refusal((f) => (f.configs['vending-9'] = {}))).toBe('station.yaml: configs.vending-9: no device of that id in devices');
    expect(refusal((f) => ((f.configs['vending-1']!.catalog as { price: { minor: number } }[])[0]!.price.minor = -1))).toMatch(/^station\.yaml: configs\.vending-1\.catalog\.0\.price\.minor: /);
    expect(refusal((f) => (f.extra = 1))).toMatch(/^station\.yaml: \(top level\): Unrecognized key/);
  });

  it('refuses prices in another currency than the ledger\'s, naming the key', () => {
    const f = loadStationFile(defaultStationFile);
    expect(() => stationConfigs(f, { merchant: '500-0000001', currency: 'CHF', issuers: [], gateKeys: new Map([['gate-entry-1', generateSigningKeyPair('g')]]) }))
      .toThrow(/configs\.gate-entry-1\.fareTable\.currency: EUR, but the gateway's ledger is in CHF/);
  });

  it('a missing, oversized or non-YAML file is a coded error naming the file', () => {
    const t = tempDir('tapsettle-stationfile-');
    try {
      expect(() => loadStationFile(join(t.dir, 'none.yaml'))).toThrow(/cannot read station file .*none\.yaml: ENOENT/);
      writeFileSync(join(t.dir, 'big.yaml'), 'x'.repeat(stationFileBytesMax + 1));
      expect(() => loadStationFile(join(t.dir, 'big.yaml'))).toThrow(/at most 262144/);
      writeFileSync(join(t.dir, 'bad.yaml'), 'devices: [\n');
      expect(() => loadStationFile(join(t.dir, 'bad.yaml'))).toThrow(/is not valid YAML/);
    } finally {
      t.cleanup();
    }
  });

  it('fuzzed: any value, or the demo with any key replaced by any value, is accepted or refused with TS_ERR_STATION_FILE — never another error', () => {
    const check = (raw: unknown) => {
      try {
        parseStationFile(raw, 'fuzz.yaml');
      } catch (err) {
        if (!(err instanceof StationError) || err.code !== 'TS_ERR_STATION_FILE') throw err;
      }
    };
    fc.assert(fc.property(fc.anything(), check), { numRuns: 300 });
    const paths: string[][] = [];
    const walk = (v: unknown, at: string[]) => {
      paths.push(at);
      if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    };
    walk(demo(), []);
    fc.assert(fc.property(fc.constantFrom(...paths.filter((p) => p.length > 0)), fc.anything(), (path, value) => {
      const f = demo() as Record<string, unknown>;
      let node = f;
      for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
      node[path.at(-1)!] = value;
      check(f);
    }), { numRuns: 500 });
  });
});
