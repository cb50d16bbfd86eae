/** The directory: a validated, persisted table of branch ranges, overrides and hot accounts; every bad input gets a coded error. */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Directory, ShardedStoreError, openShardedStore, validateDirectory } from '../../../settlement-core/store/sharded/index.ts';
import { tempDir } from '../fixtures.ts';
import { sqliteServers, testDirectory } from './helpers.ts';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as ShardedStoreError).code;
  }
};

describe('directory', () => {
  it('finds a user\'s server from branch + account number, an override first; branch 000 is on every server', () => {
    const d = Directory.fromConfig({ ...testDirectory(3), overrides: { '150-0000007': 2 } });
    expect(d.serverFor('020-0000001')).toBe(0);
    expect(d.serverFor('150-0000001')).toBe(1);
    expect(d.serverFor('150-0000007')).toBe(2);
    expect(d.serverFor('999-9999999')).toBe(2);
    expect(d.serverFor('000-0000002')).toBeNull();
    expect(d.serverFor('not an id')).toBeNull();
  });

  it('refuses gaps, overlaps, unknown servers, bad names and bad ids, naming the problem', () => {
    const ok = testDirectory(3);
    expect(() => validateDirectory({ ...ok, ranges: ok.ranges.slice(1) })).toThrow(/branch 001 is in no range/);
    expect(() => validateDirectory({ ...ok, ranges: [...ok.ranges, { from: 5, to: 5, server: 1 }] })).toThrow(/branch 5 is in two ranges/);
    expect(() => validateDirectory({ ...ok, ranges: [{ from: 1, to: 999, server: 3 }] })).toThrow(/names server 3/);
    expect(() => validateDirectory({ ...ok, ranges: [{ from: 9, to: 1, server: 0 }] })).toThrow(/runs backwards/);
    expect(() => validateDirectory({ ...ok, servers: [{ name: 'A b' }] })).toThrow(/servers\.0\.name/);
    expect(() => validateDirectory({ ...ok, servers: [{ name: 'a' }, { name: 'a' }, { name: 'c' }] })).toThrow(/unique/);
    expect(() => validateDirectory({ ...ok, overrides: { '000-0000002': 1 } })).toThrow(/branch 000/);
    expect(() => validateDirectory({ ...ok, overrides: { '100-0000001': 7 } })).toThrow(/names server 7/);
    expect(() => validateDirectory({ ...ok, hot: ['100-0000001', '100-0000001'] })).toThrow(/hot twice/);
    expect(() => validateDirectory({ ...ok, extra: 1 })).toThrow(/TS_ERR|directory/);
    expect(code(() => validateDirectory(null))).toBe('TS_ERR_DIRECTORY_INVALID');
    expect(code(() => Directory.fromConfig(ok).setOverride('100-0000001', 9))).toBe('TS_ERR_DIRECTORY_UNKNOWN_SERVER');
    expect(() => validateDirectory({ ...ok, former: { '100-0000001': [1] } })).toThrow(/its home server 1/);
    expect(() => validateDirectory({ ...ok, former: { '100-0000001': [0, 0] } })).toThrow(/listed twice/);
    expect(() => validateDirectory({ ...ok, former: { '100-0000001': [5] } })).toThrow(/name server 5/);
    expect(() => validateDirectory({ ...ok, former: { '000-0000002': [1] } })).toThrow(/branch 000/);
    expect(() => validateDirectory({ ...ok, hot: ['100-0000001'], former: { '100-0000001': [0] } })).toThrow(/hot and has former files/);
    expect(code(() => Directory.fromConfig(ok).moveAccount('100-0000001', 3))).toBe('TS_ERR_DIRECTORY_UNKNOWN_SERVER');
    expect(code(() => Directory.fromConfig(ok).moveAccount('000-0000001', 1))).toBe('TS_ERR_DIRECTORY_INVALID');
  });

  it('persists to its file, reloads and validates it, and refuses a configuration naming other servers', () => {
    const t = tempDir('tapsettle-directory-');
    try {
      const path = join(t.dir, 'directory.db');
      expect(code(() => Directory.open(path))).toBe('TS_ERR_DIRECTORY_INVALID');
      const d = Directory.open(path, testDirectory(3));
      d.setOverride('150-0000007', 2);
      d.markHot('500-0000001');
      d.moveAccount('150-0000008', 0);
      d.moveAccount('150-0000008', 2);
      d.close();
      const again = Directory.open(path);
      expect(again.serverFor('150-0000007')).toBe(2);
      expect([again.serverFor('150-0000008'), again.formerServers('150-0000008'), again.movedAccounts]).toEqual([2, [0, 1], ['150-0000008']]);
      expect(again.isHot('500-0000001')).toBe(true);
      expect(again.toConfig().ranges).toEqual(testDirectory(3).ranges);
      again.close();
      expect(code(() => Directory.open(path, testDirectory(2)))).toBe('TS_ERR_DIRECTORY_INVALID');
      expect(code(() => openShardedStore({ servers: sqliteServers(t.dir, 2), directoryPath: path }))).toBe('TS_ERR_SHARDED_OPTION');
      expect(code(() => openShardedStore({ servers: [], directoryPath: path }))).toBe('TS_ERR_SHARDED_OPTION');
      expect(code(() => openShardedStore({ servers: [{ kind: 'mysql' } as never], directoryPath: path }))).toBe('TS_ERR_SHARDED_OPTION');
    } finally {
      t.cleanup();
    }
  });

  it('answers any input with a directory or a coded error, never anything else (fuzzed)', () => {
    const range = fc.record({ from: fc.integer({ min: -5, max: 1005 }), to: fc.integer({ min: -5, max: 1005 }), server: fc.integer({ min: -1, max: 5 }) });
    const config = fc.record({
      servers: fc.array(fc.record({ name: fc.oneof(fc.constantFrom('a', 'b', 's0', 's1'), fc.string()) }), { maxLength: 4 }),
      ranges: fc.oneof(fc.array(range, { maxLength: 5 }), fc.constant([{ from: 1, to: 999, server: 0 }])),
      overrides: fc.dictionary(fc.oneof(fc.constantFrom('100-0000001', '000-0000001'), fc.string()), fc.integer({ min: -1, max: 4 }), { maxKeys: 3 }),
      hot: fc.array(fc.oneof(fc.constant('500-0000001'), fc.string()), { maxLength: 3 }),
      former: fc.dictionary(fc.oneof(fc.constantFrom('100-0000001', '500-0000001'), fc.string()), fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }), { maxKeys: 2 }),
    }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(config, fc.anything()), (input) => {
      try {
        const d = Directory.fromConfig(input);
        for (let b = 1; b <= 999; b += 1) expect(d.serverFor(`${String(b).padStart(3, '0')}-0000001`)).toBeLessThan(d.serverCount);
      } catch (err) {
        expect(err).toBeInstanceOf(ShardedStoreError);
        expect((err as ShardedStoreError).code).toBe('TS_ERR_DIRECTORY_INVALID');
      }
    }), { numRuns: 400 });
  });
});
