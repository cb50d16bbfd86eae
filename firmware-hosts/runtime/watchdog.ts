/**
 * systemd watchdog (DESIGN §10): under a unit with WatchdogSec=, systemd sets
 * NOTIFY_SOCKET and WATCHDOG_USEC; the host must send WATCHDOG=1 more often
 * than that or be restarted. We send READY=1 once the link and parts are up,
 * then WATCHDOG=1 every half interval — but only while the host's own health
 * check passes, so a wedged state machine gets the process restarted.
 *
 * Node cannot send on a unix datagram socket, so the default sender runs
 * `systemd-notify` (the unit needs NotifyAccess=all; docs/devices.md).
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export type NotifySender = (state: string) => Promise<void>;

/** Never ping more often than this, whatever WATCHDOG_USEC says. */
export const watchdogIntervalMsMin = 500;

export const systemdNotify: NotifySender = (state) =>
  new Promise((resolve, reject) => {
    execFile('systemd-notify', [`--pid=${process.pid}`, state], { timeout: 5_000 }, (err) => (err ? reject(new Error(err.message)) : resolve()));
  });

export interface WatchdogOptions {
  env?: NodeJS.ProcessEnv;
  send?: NotifySender;
  /** False stops the pings: systemd restarts the host. */
  healthy: () => boolean;
  log: Logger;
}

export class Watchdog {
  readonly intervalMs: number | null;
  pings = 0;
  skipped = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly send: NotifySender;

  constructor(private readonly options: WatchdogOptions) {
    const env = options.env ?? process.env;
    this.send = options.send ?? systemdNotify;
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    this.intervalMs = env.NOTIFY_SOCKET && Number.isFinite(usec) && usec > 0 && forUs ? Math.max(watchdogIntervalMsMin, Math.floor(usec / 2000)) : null;
  }

  get enabled(): boolean {
    return this.intervalMs !== null;
  }

  /** READY=1, then pings. Does nothing outside systemd. */
  start(): void {
    if (this.intervalMs === null || this.timer !== null) return;
    this.notify('READY=1');
    this.timer = setInterval(() => {
      if (this.options.healthy()) {
        this.pings += 1;
        this.notify('WATCHDOG=1');
      } else {
        this.skipped += 1;
        this.options.log.warn('health check failed; watchdog not fed');
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.notify('STOPPING=1');
  }

  private notify(state: string): void {
    this.send(state).catch((err: unknown) => this.options.log.warn({ err: (err as Error).message, state }, 'sd_notify failed'));
  }
}
