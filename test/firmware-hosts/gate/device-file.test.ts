/**
 * The gate's section of the device file (errors name the key), its admission
 * key (inline or from a file), the start-up checks against its parts, an
 * unreadable state file (out of service, closed), and the pure pieces: the
 * fare lookup and the ticket choice (fuzzed).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, uuidv7 } from '../../../protocol/index.ts';
import { gateKind, keyPairFromSeed } from '../../../firmware-hosts/gate/index.ts';
import { fareFor } from '../../../firmware-hosts/gate/fares.ts';
import { chooseTicket } from '../../../firmware-hosts/gate/tickets.ts';
import { gateStateFile } from '../../../firmware-hosts/gate/gate-state.ts';
import { parseDeviceFile } from '../../../firmware-hosts/runtime/host-kind.ts';
import { startHost } from '../../../firmware-hosts/runtime/host.ts';
import { openSimParts } from '../../../sim/station/sim-parts.ts';
import { eventually } from '../harness.ts';
import { fareTable, gateConfig, gateParts, issuer, signedTicket } from './gate-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'tapsettle-gate-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = generateSigningKeyPair('gate-entry-1');
const base = (gate: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  device: { id: 'gate-entry-1', kind: 'gate', secret: 'A'.repeat(43) },
  gateway: { url: 'mqtt://127.0.0.1:1' },
  dataDir: join(dir, `d-${uuidv7()}`),
  log: { level: 'silent' },
  parts: gateParts,
  gate,
  ...extra,
});
const entry = { mode: 'entry', stationId: 'central', admissionKey: { keyId: key.keyId, privateKey: key.privateKey } };

describe('gate device file', () => {
  it('parses with named defaults', () => {
    const f = parseDeviceFile(gateKind, base(entry), join(dir, 'g.yaml'));
    expect(f.section).toMatchObject({ relay: 'gate', passageSensor: 'passage', openPulseMs: 5000, resultTimeoutMs: 2000, offline: { policy: 'refuse', amountMaxMinor: 1000, countMax: 2 } });
  });

  it.each([
    [{ ...entry, mode: 'turnstile' }, /gate\.mode/],
    [{ mode: 'exit' }, /gate\.stationId/],
    [{ mode: 'entry', stationId: 'central' }, /gate\.admissionKey: an entry gate needs/],
    [{ ...entry, admissionKey: { keyId: 'k', privateKey: 'short' } }, /gate\.admissionKey\.privateKey/],
    [{ ...entry, admissionKeyFile: 'k.json' }, /gate\.admissionKey: give at most one/],
    [{ ...entry, offline: { policy: 'maybe' } }, /gate\.offline\.policy/],
    [{ ...entry, offline: { policy: 'accept', amountMaxMinor: -1 } }, /gate\.offline\.amountMaxMinor/],
    [{ ...entry, openPulseMs: 10 }, /gate\.openPulseMs/],
    [{ ...entry, resultTimeoutMs: 600_000 }, /gate\.resultTimeoutMs/],
    [{ ...entry, relay: 'Bad Name' }, /gate\.relay/],
    [{ ...entry, extra: 1 }, /gate|extra|Unrecognized/],
  ])('names the bad key (%#)', (gate, message) => {
    expect(() => parseDeviceFile(gateKind, base(gate), 'g.yaml')).toThrow(message);
    expect(() => parseDeviceFile(gateKind, base(gate), 'g.yaml')).toThrow(expect.objectContaining({ code: 'TS_ERR_DEVICE_FILE' }) as Error);
  });

  it('derives the public half of the admission key from its seed', () => {
    expect(keyPairFromSeed(key.keyId, key.privateKey)).toEqual(key);
  });

  async function start(gate: Record<string, unknown>, extra: Record<string, unknown> = {}, path = join(dir, 'g.yaml')) {
    const file = parseDeviceFile(gateKind, base(gate, extra), path);
    const { parts } = await openSimParts(file.parts);
    try {
      return await startHost({ file, parts, program: (ctx) => gateKind.program(ctx), logger: pino({ level: 'silent' }) });
    } catch (err) {
      await parts.close();
      throw err;
    }
  }

  it('start-up refuses what the parts cannot do, naming the key', async () => {
    await expect(start({ ...entry, openPulseMs: 20_000 })).rejects.toThrow(/gate\.openPulseMs.*pulseMsMax/);
    await expect(start({ ...entry, relay: 'paddles' })).rejects.toThrow(expect.objectContaining({ code: 'TS_ERR_DEVICE_PARTS' }) as Error);
    await expect(start(entry, { parts: { ...gateParts, nfc: undefined } })).rejects.toThrow(/parts\.nfc/);
  });

  it('reads the admission key from a key file relative to the device file; a missing or bad file is named', async () => {
    writeFileSync(join(dir, 'gate-key.json'), JSON.stringify(key));
    const { admissionKey: _, ...noKey } = entry;
    const h = await start({ ...noKey, admissionKeyFile: 'gate-key.json' });
    await h.close();
    await expect(start({ ...noKey, admissionKeyFile: 'none.json' })).rejects.toThrow(/gate\.admissionKeyFile: cannot read/);
    writeFileSync(join(dir, 'bad-key.json'), '{"keyId":"x"}');
    await expect(start({ ...noKey, admissionKeyFile: 'bad-key.json' })).rejects.toThrow(/gate\.admissionKeyFile: .* does not hold/);
  });

  it('an unreadable state file keeps the gate out of service and closed, and the host running', async () => {
    const dataDir = join(dir, 'broken');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, gateStateFile), '{"v":1,"usedTickets":');
    const h = await start(entry, { dataDir });
    try {
      await eventually('out of service', () => h.program.machine.state === 'out-of-service');
      expect(h.program.faults()).toEqual(['gate-state-unreadable']);
      expect(h.health().healthy).toBe(true);
    } finally {
      await h.close();
    }
  });
});

describe('fares and tickets (pure)', () => {
  it('the fare is the table entry either way round, else the maximum; never below any table fare for an unknown entry', () => {
    expect(fareFor(fareTable, 'central', 'harbour')).toMatchObject({ minor: 250, max: false });
    expect(fareFor(fareTable, 'harbour', 'central')).toMatchObject({ minor: 250, max: false });
    expect(fareFor(fareTable, null, 'harbour')).toMatchObject({ minor: 500, max: true });
    fc.assert(fc.property(fc.option(fc.string({ maxLength: 40 })), fc.string({ minLength: 1, maxLength: 40 }), (from, to) => {
      const f = fareFor(fareTable, from, to);
      expect(f.article.length).toBeLessThanOrEqual(64);
      const known = fareTable.fares.some((e) => (e.from === from && e.to === to) || (e.from === to && e.to === from));
      if (!known) expect(f.minor).toBe(fareTable.maxFareMinor);
    }), { seed: 17, numRuns: 300 });
  });

  it('chooseTicket never throws and admits only a ticket signed by the issuer for this wallet (fuzzed)', () => {
    const walletId = uuidv7();
    const good = signedTicket(walletId);
    const config = { v: 1, type: 'config', requestId: uuidv7(), sentAt: 0, deviceId: 'g', version: 1, merchant: uuidv7(), ...gateConfig() } as const;
    fc.assert(fc.property(fc.record({ product: fc.string({ minLength: 1, maxLength: 8 }), validUntil: fc.integer({ min: 0, max: 2 ** 45 }), uses: fc.integer({ min: 1, max: 5 }), sig: fc.constantFrom(good.sig, 'A'.repeat(86)) }), (over) => {
      const t = { ...good, ...over };
      const r = chooseTicket([t], { walletId, now: Date.now(), config, products: undefined, usesHere: () => 0 });
      if ('ticket' in r) expect(r.ticket).toEqual(good);
    }), { seed: 5, numRuns: 200 });
    expect(issuer.keyId).toBe(good.keyId);
  });
});
