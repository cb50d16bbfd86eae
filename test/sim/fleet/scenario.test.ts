/** Scenario files: every shipped one parses; bad ones fail with TS_ERR_SCENARIO_FILE naming the key (fuzzed). */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FleetError } from '../../../sim/fleet/errors.ts';
import { loadScenario, parseScenario, parseScenarioText, resolveScenario, scenariosDir } from '../../../sim/fleet/scenario.ts';

const valid = {
  name: 'small',
  devices: { gate: 1, vending: 1 },
  phones: { count: 4, noFunds: 1 },
  taps: { count: 10 },
  vending: { slots: [{ slot: 'A1', priceMinor: 150 }] },
  events: [{ action: 'jam', atTap: 2, slot: 'A1' }],
};

function codeAndMessage(run: () => unknown): { code: string; message: string } | null {
  try {
    run();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(FleetError);
    return { code: (err as FleetError).code, message: (err as Error).message };
  }
}

describe('scenario files', () => {
  it('every shipped scenario parses, and a name resolves to its file', () => {
    const files = readdirSync(scenariosDir).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(['deny-listed.yaml', 'gateway-away.yaml', 'jammed-spiral.yaml', 'no-funds.yaml', 'rush-hour.yaml', 'sold-out.yaml']);
    for (const f of files) {
      const s = loadScenario(join(scenariosDir, f));
      expect(s.name).toBe(f.replace(/\.yaml$/, ''));
      expect(loadScenario(resolveScenario(s.name))).toEqual(s);
    }
  });

  it('defaults are filled in and named limits hold', () => {
    const s = parseScenario(valid);
    expect(s.devices).toEqual({ gate: 1, vending: 1, kiosk: 0, pos: 0 });
    expect(s.taps).toMatchObject({ count: 10, perSecond: 0, concurrentMax: 64 });
    expect(s.gate).toEqual({ fareMinor: 150, offline: 'refuse' });
  });

  const bad: [string, unknown, string][] = [
    ['unknown top-level key', { ...valid, colour: 'red' }, '(top level)'],
    ['devices too many', { ...valid, devices: { gate: 10_001 } }, 'devices.gate'],
    ['no device', { ...valid, devices: {} }, 'devices'],
    ['phones count missing', { ...valid, phones: {} }, 'phones.count'],
    ['special phones exceed count', { ...valid, phones: { count: 2, noFunds: 2, denyListed: 1 } }, 'phones.noFunds'],
    ['negative taps', { ...valid, taps: { count: -1 } }, 'taps.count'],
    ['probability above 1', { ...valid, faults: { drop: 1.5 } }, 'faults.drop'],
    ['unknown event', { ...valid, events: [{ action: 'explode', atTap: 1 }] }, 'events.0.action'],
    ['away too long', { ...valid, events: [{ action: 'gateway-away', atTap: 1, forMs: 4_000_000 }] }, 'events.0.forMs'],
    ['jam of a slot not sold', { ...valid, events: [{ action: 'jam', atTap: 1, slot: 'Z9' }] }, 'events.0.slot'],
    ['lower-case slot', { ...valid, vending: { slots: [{ slot: 'a1', priceMinor: 1 }] } }, 'vending.slots.0.slot'],
    ['pos range upside down', { ...valid, pos: { amountMinMinor: 500, amountMaxMinor: 100 } }, 'pos.amountMinMinor'],
  ];
  it.each(bad)('%s → TS_ERR_SCENARIO_FILE naming %s', (_what, raw, key) => {
    const e = codeAndMessage(() => parseScenario(raw, 'f.yaml'));
    expect(e?.code).toBe('TS_ERR_SCENARIO_FILE');
    expect(e?.message).toContain(`f.yaml: ${key}`);
  });

  it('a missing file, a file too large and text that is not YAML are coded errors naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapsettle-scenario-'));
    try {
      expect(codeAndMessage(() => loadScenario(join(dir, 'nope.yaml')))?.message).toContain('nope.yaml');
      writeFileSync(join(dir, 'big.yaml'), `# ${'x'.repeat(70_000)}\n`);
      expect(codeAndMessage(() => loadScenario(join(dir, 'big.yaml')))?.message).toContain('at most');
      writeFileSync(join(dir, 'bad.yaml'), 'name: [unclosed\n');
      expect(codeAndMessage(() => loadScenario(join(dir, 'bad.yaml')))?.message).toMatch(/bad\.yaml: not YAML/);
      writeFileSync(join(dir, 'ok.yaml'), stringify(valid));
      expect(loadScenario(join(dir, 'ok.yaml')).name).toBe('small');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fuzzed: any value at any key of a valid scenario either parses or fails coded, naming a key of the path', () => {
    const paths: string[][] = [['name'], ['seed'], ['devices', 'gate'], ['devices', 'pos'], ['phones', 'count'], ['phones', 'fundsMinor'], ['phones', 'specialShare'], ['taps', 'count'], ['taps', 'perSecond'], ['taps', 'mix', 'gate'], ['gate', 'offline'], ['vending', 'slots'], ['events'], ['faults', 'delayMs'], ['extra']];
    fc.assert(fc.property(fc.constantFrom(...paths), fc.anything(), (path, value) => {
      const raw = structuredClone(valid) as Record<string, unknown>;
      let at = raw;
      for (const k of path.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
      at[path.at(-1)!] = value;
      const e = codeAndMessage(() => parseScenario(raw, 'fuzz.yaml'));
      if (e === null) return;
      expect(e.code).toBe('TS_ERR_SCENARIO_FILE');
      expect(e.message).toMatch(/^fuzz\.yaml: /);
      const named = e.message.slice('fuzz.yaml: '.length).split(':')[0]!;
      expect(named === '(top level)' || path.includes(named.split('.')[0]!) || named.startsWith(path[0]!)).toBe(true);
    }), { numRuns: 300 });
  });

  it('fuzzed: arbitrary text never throws anything but the coded error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
      const e = codeAndMessage(() => parseScenarioText(text, 't.yaml'));
      if (e !== null) expect(e.code).toBe('TS_ERR_SCENARIO_FILE');
    }), { numRuns: 300 });
  });
});
