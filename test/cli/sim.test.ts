/**
 * `tapsettle sim pn532 --pty`, run as a technician runs it: a child process
 * whose printed path is opened with the real serialport binding by the real
 * PN532 reader driver, then stopped with a signal. The tests that need a pty
 * are skipped, with the reason printed, only where none can be made.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPn532ReaderOnSerial } from '../../hardware/nfc/open-serial.ts';
import type { Pn532Reader } from '../../hardware/nfc/pn532-reader.ts';
import { WalletClient } from '../../hardware/wallet-client.ts';
import { verifyWalletCryptogram } from '../../protocol/index.ts';
import type { Purchase } from '../../protocol/index.ts';
import { startVirtualPn532Pty } from '../../sim/pn532/pty.ts';
import { VirtualPn532 } from '../../sim/pn532/virtual-pn532.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
/** tsx compiles the CLI on a cold start: seconds on a loaded CI runner, never this long. */
const startMsMax = 20_000;

/** Why no pty can be made here, or null when one can. */
async function noPtyReason(): Promise<string | null> {
  try {
    await (await startVirtualPn532Pty(new VirtualPn532())).close();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
const noPty = await noPtyReason();
if (noPty !== null) console.warn(`tapsettle sim pn532 --pty tests skipped: ${noPty}`);

let data: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
const readers: Pn532Reader[] = [];

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '--data', data.dir, ...args], { timeout: 30_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Running {
  child: ChildProcess;
  /** Everything printed until the startup banner was complete. */
  banner: string;
  /** stdout from the start, up to now. */
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `tapsettle sim pn532 …` and resolves once `ready(stdout)` says the startup banner is out. */
function startSim(args: string[], ready: (stdout: string) => boolean): Promise<Running> {
  const child = spawn(process.execPath, [bin, '--data', data.dir, 'sim', 'pn532', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within ${startMsMax} ms; stdout ${stdout} stderr ${stderr}`)), startMsMax);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!ready(stdout)) return;
      clearTimeout(timer);
      resolve({ child, banner: stdout, stdout: () => stdout, exited });
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before its banner; stderr ${stderr}`));
    });
  });
}

const parsesAsJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

async function openReader(path: string): Promise<Pn532Reader> {
  const reader = await openPn532ReaderOnSerial(path, { ackTimeoutMs: 200 });
  readers.push(reader);
  return reader;
}

beforeAll(() => {
  data = tempDir('tapsettle-cli-sim-');
});
afterAll(() => data.cleanup());
afterEach(async () => {
  for (const reader of readers.splice(0)) await reader.close();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('tapsettle sim pn532 --pty', () => {
  it.skipIf(noPty !== null)('prints the path as JSON; the real driver gets the firmware, finds an enrolled phone and gets a cryptogram the core verifies; SIGTERM stops it with exit 0', async () => {
    expect((await cli(['ledger', 'init'])).code).toBe(0);
    const account = JSON.parse((await cli(['--json', 'ledger', 'open', '--kind', 'customer', '--name', 'Ann', '--branch', '100'])).stdout) as { id: string };
    const enrolled = JSON.parse((await cli(['--json', 'ledger', 'enroll', account.id])).stdout) as { walletId: string; walletKey: string };
    // No --wallet-key: the CLI derives it from the key file, as the core does.
    const sim = await startSim(['--pty', '--json', '--phone', '--wallet-id', enrolled.walletId], parsesAsJson);
    const printed = JSON.parse(sim.banner) as { path: string; via: string; baudRate: number; connstring: string; field: unknown };
    expect(printed).toMatchObject({ baudRate: 115200, connstring: `pn532_uart:${printed.path}`, field: [{ kind: 'phone', walletId: enrolled.walletId, key: 'derived' }] });
    expect(existsSync(printed.path)).toBe(true);

    const reader = await openReader(printed.path);
    await expect(reader.commands.getFirmwareVersion()).resolves.toEqual({ ic: 0x32, ver: 1, rev: 6, support: 7 });
    await expect(reader.waitForTarget({ timeoutMs: 2000 })).resolves.toMatchObject({ isoDep: true, sak: 0x20 });
    const wallet = new WalletClient(reader);
    await wallet.select();
    const purchase: Purchase = { merchant: '500-0000001', amount: { minor: 250, currency: 'EUR' }, article: 'cola-330', quantity: 1 };
    const request = { deviceId: 'vend-1', purchase, deviceNonce: 'ffeeddccbbaa99887766554433221100' };
    const auth = await wallet.authorizePurchase(request);
    const walletKey = Buffer.from(enrolled.walletKey, 'base64');
    expect(verifyWalletCryptogram(walletKey, { ...request, walletId: enrolled.walletId, counter: auth.counter }, auth.cryptogram)).toBe(true);
    await reader.close();

    sim.child.kill('SIGTERM');
    expect(await sim.exited).toEqual({ code: 0, signal: null });
    expect(sim.stdout()).toBe(sim.banner); // JSON mode: one document, nothing after it
    expect(existsSync(printed.path)).toBe(false); // its temporary directory is gone
  });

  it.skipIf(noPty !== null)('in human form, with a tag, another baud rate and no timing; SIGINT stops it with exit 0', async () => {
    const sim = await startSim(['--pty', '--tag', '--no-timing', '--baud', '9600'], (out) => out.includes('stop with Ctrl-C'));
    const path = /^virtual PN532 on (\S+) \(via \w+, 9600 baud, timing off\)$/m.exec(sim.banner)?.[1];
    expect(path, sim.banner).toBeDefined();
    expect(sim.banner).toContain(`LIBNFC_DEVICE=pn532_uart:${path}:9600 nfc-list`);
    const reader = await openReader(path ?? '');
    await expect(reader.waitForTarget({ timeoutMs: 2000 })).resolves.toMatchObject({ isoDep: false, sak: 0x00 });
    await reader.close();
    sim.child.kill('SIGINT');
    expect(await sim.exited).toEqual({ code: 0, signal: null });
    expect(sim.stdout()).toContain('SIGINT: stopping');
  });

  it('without any way to make a pty: TS_ERR_SIM_PTY_UNAVAILABLE, the reason, and exit 1', async () => {
    // Neither socat nor python3 can be found on this PATH; node itself is started by its absolute path.
    const r = await cli(['--json', 'sim', 'pn532', '--pty'], { ...process.env, PATH: join(data.dir, 'no-such-bin') });
    expect(r.code, r.stderr).toBe(1);
    const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe('TS_ERR_SIM_PTY_UNAVAILABLE');
    expect(error.message).toMatch(/socat: .*python3: .*install socat/);
  });

  it('refuses a wrong command line with TS_ERR_CLI_ARG and exit 2, before making any pty', async () => {
    const cases: string[][] = [
      [],
      ['--pty', '--baud', '1234'],
      ['--pty', '--baud', 'fast'],
      ['--pty', '--wallet-id', '01937a4e-0000-7000-8000-000000000001'],
      ['--pty', '--phone', '--wallet-id', 'not-a-uuid'],
      ['--pty', '--phone', '--wallet-key', Buffer.alloc(32).toString('base64')],
      ['--pty', '--phone', '--wallet-id', '01937a4e-0000-7000-8000-000000000001', '--wallet-key', 'c2hvcnQ='],
    ];
    for (const args of cases) {
      const r = await cli(['--json', 'sim', 'pn532', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(JSON.parse(r.stderr), args.join(' ')).toMatchObject({ error: { code: 'TS_ERR_CLI_ARG' } });
    }
  });

  it('an enrolled wallet id without a key file says where the key should come from, exit 1', async () => {
    const empty = tempDir('tapsettle-cli-sim-nokeys-');
    try {
      const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, [bin, '--data', empty.dir, '--json', 'sim', 'pn532', '--pty', '--phone', '--wallet-id', '01937a4e-0000-7000-8000-000000000001'], (err, _o, stderr) =>
          resolve({ code: err ? Number(err.code) : 0, stderr }));
      });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'TS_ERR_CLI_KEYS' } });
    } finally {
      empty.cleanup();
    }
  });
});
