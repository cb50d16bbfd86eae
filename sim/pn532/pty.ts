/**
 * The virtual PN532 on a real pseudo-terminal, so that host software that
 * opens a serial device (our driver with the real serialport binding, libnfc,
 * nfc-list) talks to it as to a PN532 on a UART.
 *
 * socat makes the pty pair when it is installed (`socat pty,raw,echo=0,link=A
 * pty,raw,echo=0,link=B`): the chip opens one end with serialport and the host
 * gets the other. Without socat, a small python3 helper opens one pty, keeps
 * its slave side open (so a host may close and reopen it) and relays the
 * master over its stdin/stdout to the chip. Neither: a coded error that says
 * why.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSerialPort } from '../../hardware/nfc/open-serial.ts';
import type { SerialEndpoint } from './mock-port.ts';

export class SimPtyError extends Error {
  override readonly name = 'SimPtyError';
  readonly code = 'TS_ERR_SIM_PTY_UNAVAILABLE';
}

export interface VirtualPn532Pty {
  /** The device path host software opens (a symlink to /dev/pts/N, stable for the pty's life). */
  readonly hostPath: string;
  readonly via: 'socat' | 'python3';
  close(): Promise<void>;
}

export interface PtyOptions {
  /** Directory for the links; a fresh temporary one by default. */
  dir?: string;
  prefer?: 'socat' | 'python3';
  baudRate?: number;
}

/** socat and python3 start in tens of ms; 5 s still allows a loaded CI runner. */
const ptyReadyTimeoutMs = 5000;
/** Keep only the tail of a helper's diagnostics: enough for the error message. */
const diagnosticsBytesMax = 4096;
/** A helper that ignores SIGTERM this long is killed. */
const stopTimeoutMs = 2000;

const pythonRelay = `
import os, pty, select, sys, tty
master, slave = pty.openpty()
tty.setraw(slave)
link = sys.argv[1]
if os.path.lexists(link): os.unlink(link)
os.symlink(os.ttyname(slave), link)
sys.stderr.write("READY\\n"); sys.stderr.flush()
while True:
    ready, _, _ = select.select([master, 0], [], [])
    if master in ready:
        os.write(1, os.read(master, 4096))
    if 0 in ready:
        data = os.read(0, 4096)
        if not data: break
        os.write(master, data)
`;

/** Serves `chip` on a new pty; resolves with the host's device path. */
export async function startVirtualPn532Pty(chip: SerialEndpoint, options: PtyOptions = {}): Promise<VirtualPn532Pty> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tapsettle-pn532-')));
  const order = options.prefer === 'python3' ? (['python3', 'socat'] as const) : (['socat', 'python3'] as const);
  const failures: string[] = [];
  for (const via of order) {
    try {
      const served = via === 'socat' ? await serveWithSocat(chip, dir, options.baudRate) : await serveWithPython(chip, dir);
      return {
        ...served,
        close: async () => {
          await served.close();
          if (ownDir) await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      failures.push(`${via}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (ownDir) await rm(dir, { recursive: true, force: true });
  throw new SimPtyError(`no pseudo-terminal could be made (${failures.join('; ')})`);
}

async function serveWithSocat(chip: SerialEndpoint, dir: string, baudRate: number | undefined): Promise<VirtualPn532Pty> {
  const chipPath = join(dir, 'chip');
  const hostPath = join(dir, 'pn532');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${chipPath}`, `pty,raw,echo=0,link=${hostPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  reapOnExit(child);
  await waitForLine(child, 'starting data transfer loop');
  try {
    const port = await openSerialPort(chipPath, baudRate === undefined ? {} : { baudRate });
    port.stream.on('data', (chunk: Buffer) => chip.receive(new Uint8Array(chunk)));
    chip.connect((bytes) => port.stream.write(Buffer.from(bytes)));
    return { hostPath, via: 'socat', close: async () => { chip.close?.(); await port.close(); await stop(child); } };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

async function serveWithPython(chip: SerialEndpoint, dir: string): Promise<VirtualPn532Pty> {
  const hostPath = join(dir, 'pn532');
  const child = spawn('python3', ['-c', pythonRelay, hostPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  reapOnExit(child); // the python helper also exits by itself when our end of its stdin closes
  await waitForLine(child, 'READY');
  child.stdout?.on('data', (chunk: Buffer) => chip.receive(new Uint8Array(chunk)));
  child.stdin?.on('error', () => undefined); // the helper died: close() reports nothing more useful
  chip.connect((bytes) => child.stdin?.write(Buffer.from(bytes)));
  return { hostPath, via: 'python3', close: async () => { chip.close?.(); await stop(child); } };
}

/** Resolves when the helper prints `marker` on stderr; rejects if it exits, fails to spawn or is slow. */
function waitForLine(child: ChildProcess, marker: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let diagnostics = '';
    const timer = setTimeout(() => finish(new Error(`not ready in ${ptyReadyTimeoutMs} ms: ${diagnostics.trim()}`)), ptyReadyTimeoutMs);
    const onData = (chunk: Buffer): void => {
      diagnostics = (diagnostics + chunk.toString()).slice(-diagnosticsBytesMax);
      if (diagnostics.includes(marker)) finish(null);
    };
    const onExit = (code: number | null): void => finish(new Error(`exited with ${code}: ${diagnostics.trim()}`));
    const onError = (error: Error): void => finish(error);
    function finish(error: Error | null): void {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error === null) {
        child.stderr?.resume(); // keep draining, or a chatty helper blocks on a full pipe
        resolve();
      } else {
        child.kill('SIGKILL');
        reject(error);
      }
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** A socat left behind would hold its ptys forever: kill helpers when this process exits normally. */
function reapOnExit(child: ChildProcess): void {
  const reap = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
