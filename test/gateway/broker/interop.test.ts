/**
 * Clients nobody here wrote: Mosquitto's mosquitto_pub and mosquitto_sub
 * (MQTT 3.1.1) against our broker on its ephemeral port — never the system
 * Mosquitto on 1883.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../../protocol/index.ts';
import { openStation, until } from './harness.ts';
import type { Station } from './harness.ts';

function hasBinaries(): boolean {
  try {
    execFileSync('mosquitto_pub', ['--help'], { stdio: 'ignore' });
  } catch (err) {
    // --help exits 1 when the binary runs; only a missing binary has no exit status.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  try {
    execFileSync('mosquitto_sub', ['--help'], { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  return true;
}
const available = hasBinaries();
if (!available) console.warn('skipping the Mosquitto client interop tests: mosquitto_pub/mosquitto_sub are not installed (Debian: mosquitto-clients)');

let s: Station;
const seen: string[] = [];
beforeAll(async () => {
  s = await openStation(['vm-m1', 'vm-m2']);
  s.broker.onMessage('event', (deviceId, payload) => seen.push(`${deviceId} ${payload.toString()}`));
});
afterAll(() => s.close());

const base = (): string[] => ['-h', '127.0.0.1', '-p', String(s.broker.ports.tcp), '-V', 'mqttv311'];
const as = (id: string): string[] => ['-i', id, '-u', id, '-P', s.secrets.get(id)!];

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

describe.skipIf(!available)('interop with Mosquitto\'s clients', () => {
  it('refuses mosquitto_pub without credentials, and with another device\'s secret', async () => {
    const none = await run('mosquitto_pub', [...base(), '-i', 'vm-m1', '-t', topics.event('vm-m1'), '-m', '{}']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/bad user name or password|not authori[sz]ed/i);
    const wrong = await run('mosquitto_pub', [...base(), '-i', 'vm-m1', '-u', 'vm-m1', '-P', s.secrets.get('vm-m2')!, '-t', topics.event('vm-m1'), '-m', '{}']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/bad user name or password/i);
  });

  it('delivers mosquitto_pub on the device\'s own topic', async () => {
    const r = await run('mosquitto_pub', [...base(), ...as('vm-m1'), '-q', '1', '-t', topics.event('vm-m1'), '-m', '{"from":"mosquitto"}']);
    expect(r.code, r.stderr).toBe(0);
    await until(() => seen.includes('vm-m1 {"from":"mosquitto"}'), 5000, 'the message');
  });

  it('cuts off mosquitto_pub on another device\'s topic, counts it, and delivers nothing', async () => {
    const before = s.broker.stats().breachesByAction.publish;
    const count = seen.length;
    const r = await run('mosquitto_pub', [...base(), ...as('vm-m1'), '-q', '1', '-t', topics.event('vm-m2'), '-m', '{"forged":true}']);
    expect(r.code).not.toBe(0);
    expect(s.broker.stats().breachesByAction.publish - before).toBe(1);
    expect(seen.length).toBe(count);
  });

  it('mosquitto_sub receives the gateway\'s publication on its own result topic', async () => {
    const subscribed = new Promise<void>((resolve) => s.broker.aedes.once('subscribe', () => resolve()));
    const sub = spawn('mosquitto_sub', [...base(), ...as('vm-m2'), '-q', '1', '-C', '1', '-W', '10', '-t', topics.result('vm-m2')]);
    let stdout = '';
    sub.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => sub.once('exit', (code) => resolve(code)));
    await subscribed;
    await s.broker.publish(topics.result('vm-m2'), '{"to":"vm-m2"}', { qos: 1, retain: false });
    expect(await exited).toBe(0);
    expect(stdout.trim()).toBe('{"to":"vm-m2"}');
  });

  it('mosquitto_sub is denied another device\'s results (SUBACK 128)', async () => {
    const before = s.broker.stats().breachesByAction.subscribe;
    const r = await run('mosquitto_sub', [...base(), ...as('vm-m1'), '-q', '1', '-C', '1', '-W', '5', '-t', topics.result('vm-m2')]);
    // mosquitto_sub 2.0 reports it on stderr (its exit status varies by version) and receives nothing.
    expect(r.stderr).toMatch(/all subscription requests were denied/i);
    expect(r.stdout).toBe('');
    expect(s.broker.stats().breachesByAction.subscribe - before).toBe(1);
  });
});
