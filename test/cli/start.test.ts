/**
 * `tapsettle start` as a technician runs it: a child process in a temp
 * directory, on its default ./data, comes up with the whole demo station and prints the dashboard
 * URL; `tapsettle sim tap` (another process) places a phone on a device of
 * it and the tap settles; unknown names are exit code 2; SIGTERM stops it
 * with exit 0 and removes station.json. A bad station file is exit code 2
 * naming the key.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../settlement-core/fixtures.ts';

const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
/** tsx compiles the CLI on a cold start and the station starts five hosts: seconds on a loaded runner, never this long. */
const startMsMax = 60_000;

const t = tempDir('tapsettle-start-');
const data = join(t.dir, 'data');
let child: ChildProcess;
let stdout = '';
let stderr = '';
let dashboard = '';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '--data', data, ...args], { timeout: startMsMax }, (err, out, errOut) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: out, stderr: errOut }));
  });
}

beforeAll(async () => {
  // As `npm start` runs it: no --data, so the default ./data, relative to the working directory (the station's paths must not be taken twice).
  const { TAPSETTLE_DATA: _ignored, ...env } = process.env;
  child = spawn(process.execPath, [bin, 'start', '--mqtt-port', '0', '--http-port', '0'], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout!.on('data', (b: Buffer) => void (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => void (stderr += b.toString()));
  const deadline = Date.now() + startMsMax;
  while (!/dashboard\s+(http:\/\/\S+)/.test(stdout)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tapsettle start did not come up:\n${stdout}\n${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  dashboard = /dashboard\s+(http:\/\/\S+)/.exec(stdout)![1]!;
}, startMsMax + 5_000);

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  t.cleanup();
});

describe('tapsettle start', () => {
  it('prints the dashboard URL, the station\'s devices and phones; the dashboard answers', async () => {
    expect(dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard$/);
    expect(stdout).toMatch(/station "Demo station": gate-entry-1 \(entry gate\), gate-exit-1 \(exit gate\), vending-1 \(snack machine\), kiosk-1 \(ticket kiosk\), pos-1 \(purchase terminal\)/);
    expect(stdout).toMatch(/phones\s+Ada 100\.00 EUR, Ben 50\.00 EUR, Cleo 25\.00 EUR, Dev 10\.00 EUR, Eve 0\.00 EUR/);
    expect(existsSync(join(data, 'station.json'))).toBe(true);
    const res = await fetch(`${dashboard}/api/snapshot`);
    const snap = (await res.json()) as { phones: { name: string }[] };
    expect(snap.phones.map((p) => p.name)).toEqual(['Ada', 'Ben', 'Cleo', 'Dev', 'Eve']);
  });

  it('sim tap: a phone on the entry gate, then the exit gate, then the vending machine with a chosen slot', async () => {
    const entry = await cli(['sim', 'tap', '--phone', 'Ada', '--device', 'gate-entry-1']);
    expect(entry).toMatchObject({ code: 0, stdout: 'Ada at gate-entry-1: opened: entered at central\n' });
    const exit = await cli(['--json', 'sim', 'tap', '--phone', 'Ada', '--device', 'gate-exit-1']);
    expect(exit.code).toBe(0);
    expect(JSON.parse(exit.stdout)).toEqual({ ok: true, phone: 'Ada', device: 'gate-exit-1', message: 'opened: fare 1.80 EUR, passed' });
    const vend = await cli(['sim', 'tap', '--phone', 'Ben', '--device', 'vending-1', '--choice', 'A2']);
    expect(vend).toMatchObject({ code: 0, stdout: 'Ben at vending-1: approved 2.00 EUR crisps-50: dispensed\n' });
  }, 60_000);

  it('sim tap: an unknown phone or device is exit code 2 with a clear message; no station is exit code 1', async () => {
    const phone = await cli(['sim', 'tap', '--phone', 'Zed', '--device', 'gate-entry-1']);
    expect(phone.code).toBe(2);
    expect(phone.stderr).toBe('tapsettle: no phone named "Zed" in this station [TS_ERR_DASHBOARD_UNKNOWN_PHONE]\n');
    const device = await cli(['sim', 'tap', '--phone', 'Ada', '--device', 'lift-1']);
    expect(device.code).toBe(2);
    expect(device.stderr).toBe('tapsettle: no device lift-1 in this station [TS_ERR_DASHBOARD_UNKNOWN_DEVICE]\n');
    const missing = await cli(['sim', 'tap', '--phone', 'Ada']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/give both --phone NAME and --device ID/);
    const none = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, '--data', join(t.dir, 'nothing'), 'sim', 'tap', '--phone', 'Ada', '--device', 'gate-entry-1'], { timeout: startMsMax }, (err, _o, e) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stderr: e }));
    });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no running station under .*nothing .*start one with `tapsettle start --data/);
  }, 60_000);

  it('a bad station file is exit code 2 naming the key', async () => {
    const bad = join(t.dir, 'bad-station.yaml');
    writeFileSync(bad, 'version: 1\nname: x\ndevices: [{ id: g, kind: gate, role: r, parts: {}, gate: { mode: sideways } }]\nphones: [{ name: Ada }]\n');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, '--data', join(t.dir, 'other'), 'start', '--station', bad, '--mqtt-port', '0', '--http-port', '0'], { timeout: startMsMax }, (err, _o, e) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stderr: e }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-station\.yaml: devices\.0\.gate\.mode: .*\[TS_ERR_STATION_FILE\]/);
  }, 60_000);

  it('SIGTERM stops the station and the gateway cleanly: exit 0, station.json gone', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(data, 'station.json'))).toBe(false);
  }, 30_000);
});
