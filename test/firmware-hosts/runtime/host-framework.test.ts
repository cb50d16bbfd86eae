/**
 * The host framework's own parts: the state machine table and bounded waits,
 * the systemd watchdog, the local health endpoint, and device-file errors
 * that name the key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StateMachine, bounded } from '../../../firmware-hosts/runtime/machine.ts';
import { Watchdog } from '../../../firmware-hosts/runtime/watchdog.ts';
import { startHealthServer } from '../../../firmware-hosts/runtime/health-server.ts';
import { loadDeviceFile, parseDeviceFile } from '../../../firmware-hosts/runtime/host-kind.ts';
import type { HostKind } from '../../../firmware-hosts/runtime/host-kind.ts';
import { TextDisplay, displayTextMax, requirePart } from '../../../firmware-hosts/runtime/parts.ts';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'tapsettle-host-fw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('StateMachine', () => {
  const table = { idle: ['busy'], busy: ['idle', 'fault'], fault: [] } as const;
  it('moves along the table, records history and refuses other moves with a coded error', () => {
    let now = 1000;
    const m = new StateMachine<'idle' | 'busy' | 'fault'>('t', table, 'idle', silent, () => now);
    const seen: string[] = [];
    m.on('transition', (t) => seen.push(`${t.from}->${t.to}:${t.stayedMs}`));
    now = 1250;
    m.to('busy', 'tap');
    expect(m.state).toBe('busy');
    expect(() => m.to('busy')).toThrow(expect.objectContaining({ code: 'TS_ERR_MACHINE_TRANSITION' }) as Error);
    now = 1300;
    m.to('fault');
    expect(() => m.to('idle')).toThrow(/fault → idle/);
    expect(seen).toEqual(['idle->busy:250', 'busy->fault:50']);
    expect(m.history.map((t) => t.to)).toEqual(['busy', 'fault']);
    expect(m.transitions).toBe(2);
  });

  it('bounded() resolves the value, passes rejections through, and reports a timeout by name', async () => {
    await expect(bounded('x', Promise.resolve(4), 50)).resolves.toEqual({ ok: true, value: 4 });
    await expect(bounded('x', Promise.reject(new Error('boom')), 50)).rejects.toThrow('boom');
    await expect(bounded('drop sensor', new Promise(() => undefined), 20)).resolves.toEqual({ ok: false, timedOut: true, what: 'drop sensor' });
  });
});

describe('Watchdog', () => {
  it('is off outside systemd', () => {
    const w = new Watchdog({ env: {}, healthy: () => true, log: silent, send: () => Promise.resolve() });
    expect(w.enabled).toBe(false);
    w.start();
    w.stop();
  });

  it('sends READY=1, then WATCHDOG=1 at half the interval only while healthy, and STOPPING=1', async () => {
    const sent: string[] = [];
    let healthy = true;
    const w = new Watchdog({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(process.pid) }, healthy: () => healthy, log: silent, send: (s) => (sent.push(s), Promise.resolve()) });
    expect(w.intervalMs).toBe(500);
    w.start();
    await new Promise((r) => setTimeout(r, 1100));
    healthy = false;
    await new Promise((r) => setTimeout(r, 600));
    w.stop();
    expect(sent[0]).toBe('READY=1');
    expect(sent.filter((s) => s === 'WATCHDOG=1').length).toBe(2);
    expect(w.skipped).toBeGreaterThanOrEqual(1);
    expect(sent.at(-1)).toBe('STOPPING=1');
  });

  it('ignores a watchdog meant for another pid', () => {
    const w = new Watchdog({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }, healthy: () => true, log: silent });
    expect(w.enabled).toBe(false);
  });
});

describe('health server', () => {
  it('serves /healthz (200 or 503) and /metrics; anything else is a coded 404/405', async () => {
    let healthy = true;
    const registry = new Registry();
    const server = await startHealthServer({ host: '127.0.0.1', port: 0, registry, health: () => ({ healthy, state: 'idle' }) });
    try {
      let r = await fetch(`${server.url}/healthz`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ healthy: true, state: 'idle' });
      healthy = false;
      r = await fetch(`${server.url}/healthz`);
      expect(r.status).toBe(503);
      r = await fetch(`${server.url}/metrics`);
      expect(r.status).toBe(200);
      r = await fetch(`${server.url}/nope`);
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ error: { code: 'TS_ERR_NOT_FOUND' } });
      r = await fetch(`${server.url}/healthz`, { method: 'POST' });
      expect(r.status).toBe(405);
    } finally {
      await server.close();
    }
  });
});

describe('device file', () => {
  const kind: HostKind<{ openMs: number }> = {
    kind: 'gate',
    section: z.strictObject({ openMs: z.number().int().min(100).max(10_000).default(3000) }),
    program: () => { throw new Error('not started in this test'); },
  };
  const good = { device: { id: 'gate-1', kind: 'gate', secret: 'A'.repeat(43) }, gateway: { url: 'mqtt://127.0.0.1:1884' }, dataDir: './d', gate: {} };

  it('parses a minimal file with defaults', () => {
    const f = parseDeviceFile(kind, good, '/etc/tapsettle/gate.yaml');
    expect(f.section.openMs).toBe(3000);
    expect(f.parts.board).toEqual({ backend: 'sim' });
    expect(f.log.level).toBe('info');
  });

  it.each([
    [{ ...good, gate: { openMs: 5 } }, /gate\.openMs/],
    [{ ...good, gateway: { url: 'http://x' } }, /gateway\.url/],
    [{ ...good, device: { id: 'Bad Id', kind: 'gate', secret: 'A'.repeat(43) } }, /device\.id/],
    [{ ...good, device: { id: 'gate-1', kind: 'gate' } }, /device.*secret/],
    [{ ...good, extra: 1 }, /extra|Unrecognized/],
    [{ ...good, device: { ...good.device, kind: 'vending' } }, /device\.kind/],
    [{ ...good, parts: { relays: { gate: { pin: 999 } } } }, /parts\.relays\.gate\.pin/],
    [{ ...good, parts: { nfc: { driver: 'pn532-uart' } } }, /parts\.nfc\.path/],
  ])('names the bad key (%#)', (raw, message) => {
    expect(() => parseDeviceFile(kind, raw, 'f.yaml')).toThrow(message);
    try {
      parseDeviceFile(kind, raw, 'f.yaml');
    } catch (err) {
      expect((err as { code: string }).code).toBe('TS_ERR_DEVICE_FILE');
    }
  });

  it('reads YAML from disk; a missing, oversized or broken file is a coded error', () => {
    const path = join(dir, 'gate.yaml');
    writeFileSync(path, 'device: { id: gate-1, kind: gate, secret: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA }\ngateway: { url: "mqtt://127.0.0.1:1884" }\ndataDir: ./d\ngate: { openMs: 2000 }\n');
    expect(loadDeviceFile(kind, path).section.openMs).toBe(2000);
    expect(() => loadDeviceFile(kind, join(dir, 'none.yaml'))).toThrow(/ENOENT/);
    writeFileSync(path, 'a: [');
    expect(() => loadDeviceFile(kind, path)).toThrow(/not valid YAML/);
    writeFileSync(path, 'x'.repeat(70_000));
    expect(() => loadDeviceFile(kind, path)).toThrow(/at most/);
  });

  it('never throws anything but a coded error on fuzzed input', () => {
    fc.assert(fc.property(fc.anything(), (raw) => {
      try {
        parseDeviceFile(kind, raw, 'f.yaml');
      } catch (err) {
        expect((err as { code?: string }).code).toBe('TS_ERR_DEVICE_FILE');
      }
    }), { numRuns: 500 });
  });
});

describe('parts', () => {
  it('the display keeps the last text, cut to the display size; a missing part is a coded error naming it', () => {
    const shown: string[] = [];
    const d = new TextDisplay((t) => shown.push(t));
    d.show('x'.repeat(200));
    expect(d.text.length).toBe(displayTextMax);
    expect(shown).toHaveLength(1);
    expect(() => requirePart(new Map<string, number>(), 'gate', 'relay')).toThrow(/relay "gate"/);
  });
});
