/**
 * `tapsettle device <kind> --config FILE`, run as a technician runs it: a
 * child process against a gateway started here; its retained state goes
 * online, SIGTERM makes it say offline and exit 0. Bad command lines and bad
 * device files are coded errors with exit code 2.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, topics } from '../../protocol/index.ts';
import { startTestStation } from '../firmware-hosts/harness.ts';
import type { TestStation } from '../firmware-hosts/harness.ts';

const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
/** tsx compiles the CLI on a cold start: seconds on a loaded runner, never this long. */
const startMsMax = 30_000;

let station: TestStation;
beforeAll(async () => {
  station = await startTestStation();
});
afterAll(async () => {
  await station.close();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: startMsMax }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

const key = generateSigningKeyPair('gate-entry-1-k1');

function gateFile(name: string): string {
  const secret = station.demo.devices.find((d) => d.id === 'gate-entry-1')!.secret;
  const path = join(station.dir, name);
  writeFileSync(path, [
    `device: { id: gate-entry-1, kind: gate, secret: ${secret} }`,
    `gateway: { url: "${station.mqttUrl}" }`,
    'dataDir: ./gate-entry-1-data',
    'http: { port: 0 }',
    'log: { level: warn }',
    'parts:',
    '  nfc: { driver: sim }',
    '  relays: { gate: { pin: 7 } }',
    '  inputs: { passage: { pin: 2, kind: passage-sensor } }',
    'gate:',
    '  mode: entry',
    '  stationId: central',
    `  admissionKey: { keyId: ${key.keyId}, privateKey: ${key.privateKey} }`,
    '',
  ].join('\n'));
  return path;
}

describe('tapsettle device', () => {
  it('--check validates a device file; a bad key is named with exit code 2', async () => {
    const good = gateFile('gate-check.yaml');
    const ok = await cli(['device', 'gate', '--config', good, '--check']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid gate device file for gate-entry-1');
    const bad = join(station.dir, 'bad.yaml');
    writeFileSync(bad, 'device: { id: gate-entry-1, kind: gate, secret: xx }\n');
    const r = await cli(['device', 'gate', '--config', bad, '--check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/device\.secret.*\[TS_ERR_DEVICE_FILE\]/);
    const wrongKind = await cli(['device', 'toaster', '--config', good]);
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toContain('device kind must be one of vending, kiosk, gate, pos');
    const noConfig = await cli(['device', 'gate']);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('--config FILE is required');
    const kindMismatch = await cli(['device', 'vending', '--config', good, '--check']);
    expect(kindMismatch.code).toBe(2);
  }, 4 * startMsMax);

  it('runs a gate host on simulated parts: online with its machine state, health served, offline after SIGTERM', async () => {
    await station.pushConfig('gate-entry-1', {
      fareTable: { currency: 'EUR', maxFareMinor: 500, fares: [] },
      keys: { issuer: [], gates: [{ keyId: key.keyId, publicKey: key.publicKey }] },
    });
    const child = spawn(process.execPath, [bin, '--json', 'device', 'gate', '--config', gateFile('gate.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no ready line: ${stderr}`)), startMsMax);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve(out.split('\n')[0]!);
          }
        });
      });
      const ready = JSON.parse(line) as { device: string; readyMs: number; http: string };
      expect(ready.device).toBe('gate-entry-1');
      const health = await (await fetch(`${ready.http}/healthz`)).json() as { state: string; connected: boolean };
      expect(health.state).toBeTypeOf('string');
      let state: { status?: string; machineState?: string } = {};
      const until = Date.now() + 5_000;
      while (state.status !== 'online' && Date.now() < until) {
        const raw = await station.gw.broker.retained(topics.state('gate-entry-1'));
        state = raw ? (JSON.parse(raw.toString()) as typeof state) : {};
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(state, JSON.stringify(state)).toMatchObject({ status: 'online' });
      expect(state.machineState).toBeTypeOf('string');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const after = JSON.parse((await station.gw.broker.retained(topics.state('gate-entry-1')))!.toString()) as { status: string };
      expect(after.status).toBe('offline');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 3 * startMsMax);
});
