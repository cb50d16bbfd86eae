/**
 * Starts one device host: the link to the gateway, the host program (its
 * state machine over the parts), the retained state that shows the machine
 * and its parts, the local health/metrics endpoint and the systemd watchdog.
 * Every host kind runs through this, from `tapsettle device <kind>`, from a
 * simulated station, and from the tests.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import type { Logger } from 'pino';
import type { DeviceConfig, DeviceKind, DeviceOutput } from '../../protocol/index.ts';
import { deviceSecret, relativeTo } from './device-file.ts';
import type { CommonSections } from './device-file.ts';
import { startHealthServer } from './health-server.ts';
import type { HealthServer } from './health-server.ts';
import { HostMetrics } from './host-metrics.ts';
import { DeviceLink } from './link.ts';
import type { DeviceLinkOptions } from './link-options.ts';
import type { StateMachine } from './machine.ts';
import type { DeviceParts } from './parts.ts';
import { Watchdog } from './watchdog.ts';
import type { NotifySender } from './watchdog.ts';
import type { z } from 'zod';

type Common = { [K in keyof typeof CommonSections]: z.output<(typeof CommonSections)[K]> };

/** A parsed device file: the common sections and the kind's own section. */
export type DeviceFile<C> = Common & { section: C; path: string };

/** What a host program gets to work with. */
export interface HostContext<C> {
  readonly deviceId: string;
  readonly kind: DeviceKind;
  readonly settings: C;
  readonly link: DeviceLink;
  readonly parts: DeviceParts;
  readonly log: Logger;
  readonly metrics: HostMetrics;
  readonly clock: () => number;
  /** The device's data directory (absolute): where a host keeps its own durable state beside the outbox. */
  readonly dataDir: string;
  /** The device file's path: paths inside the host's section are relative to it. */
  readonly filePath: string;
  /** The retained config the gateway sent (catalog, fares, deny list, keys), or null before the first. */
  config(): DeviceConfig | null;
  /** Republishes the retained state (machine state, outputs, faults); coalesced. */
  refresh(): void;
}

/** The program of one device kind: a state machine over the parts. */
export interface HostProgram {
  readonly machine: StateMachine<string>;
  /** Starts the program's loops; resolves once it takes customers. */
  start(): Promise<void>;
  /** Stops taking customers and waits (bounded) for a sale in progress to end. */
  stop(): Promise<void>;
  /** Parts and slots as the dashboard shows them. */
  outputs(): DeviceOutput[];
  /** Faults that stop the device selling ('outbox-full' is added by the link). */
  faults(): string[];
  /** False when the program is wedged: the watchdog stops feeding systemd. */
  healthy(): boolean;
  /** Kind-specific figures for /healthz. */
  report(): Record<string, unknown>;
}

export interface StartHostOptions<C> {
  file: DeviceFile<C>;
  parts: DeviceParts;
  program: (ctx: HostContext<C>) => HostProgram;
  logger?: Logger;
  clock?: () => number;
  /** Link overrides for tests (backoff, random). */
  link?: Partial<DeviceLinkOptions>;
  notify?: NotifySender;
  env?: NodeJS.ProcessEnv;
}

export interface RunningHost {
  readonly deviceId: string;
  readonly link: DeviceLink;
  readonly program: HostProgram;
  readonly metrics: HostMetrics;
  readonly http: HealthServer | null;
  readonly watchdog: Watchdog;
  /** Milliseconds from start to taking customers. */
  readonly readyMs: number;
  health(): { healthy: boolean; [key: string]: unknown };
  /** Clean stop: the program, the endpoint, the link (retained offline), the parts. */
  close(): Promise<void>;
  /** A crash (tests): no DISCONNECT, the broker publishes the last will; the outbox stays on disk. */
  abort(): Promise<void>;
}

/** Drops undefined values (YAML leaves optional keys absent; exactOptionalPropertyTypes wants them gone). */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

export async function startHost<C>(options: StartHostOptions<C>): Promise<RunningHost> {
  const t0 = performance.now();
  const { file } = options;
  const log = options.logger ?? pino({ level: file.log.level, base: { device: file.device.id } });
  const tls = file.gateway.tls;
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(relativeTo(file.path, p)));
  const link = DeviceLink.open({
    url: file.gateway.url,
    deviceId: file.device.id,
    secret: deviceSecret(file.device, file.path),
    dataDir: relativeTo(file.path, file.dataDir),
    kind: file.device.kind,
    logger: log.child({ part: 'link' }),
    limits: defined(file.link),
    outbox: defined(file.outbox),
    ...(tls ? { tls: { ...(tls.caFile ? { ca: read(tls.caFile)! } : {}), ...(tls.certFile ? { cert: read(tls.certFile)! } : {}), ...(tls.keyFile ? { key: read(tls.keyFile)! } : {}) } } : {}),
    ...options.link,
  });
  const metrics = new HostMetrics(link);
  let program: HostProgram | null = null;
  const refresh = () => {
    if (program !== null) link.present({ machineState: program.machine.state, outputs: program.outputs() }, program.faults());
  };
  const ctx: HostContext<C> = {
    deviceId: file.device.id, kind: file.device.kind, settings: file.section, link, parts: options.parts,
    log: log.child({ part: file.device.kind }), metrics, clock: options.clock ?? Date.now,
    dataDir: relativeTo(file.path, file.dataDir), filePath: file.path,
    config: () => link.config,
    refresh,
  };
  try {
    program = options.program(ctx);
  } catch (err) {
    await link.close();
    throw err;
  }
  const prog = program;
  prog.machine.on('transition', (t) => {
    metrics.transitions.inc();
    link.event('transition', `${t.from}->${t.to}${t.why ? `: ${t.why}` : ''}`);
    refresh();
  });
  link.on('connected', refresh);
  const health = () => {
    const faults = [...(link.outbox.isFull ? ['outbox-full'] : []), ...prog.faults()];
    return {
      healthy: prog.healthy() && !link.outbox.isFull,
      device: file.device.id, kind: file.device.kind, state: prog.machine.state, inStateMs: prog.machine.inStateMs,
      connected: link.connected, outboxDepth: link.outbox.depth, outboxMax: link.outbox.limits.entriesMax,
      configVersion: link.outbox.configVersion, faults, ...prog.report(),
    };
  };
  const watchdog = new Watchdog({ healthy: () => prog.healthy(), log, ...(options.notify ? { send: options.notify } : {}), ...(options.env ? { env: options.env } : {}) });
  let http: HealthServer | null = null;
  try {
    await prog.start();
    if (file.http) http = await startHealthServer({ host: file.http.host, port: file.http.port, health, registry: metrics.registry });
  } catch (err) {
    await prog.stop().catch(() => undefined);
    await link.close();
    throw err;
  }
  watchdog.start();
  refresh();
  const readyMs = performance.now() - t0;
  log.info({ readyMs: Math.round(readyMs), http: http?.url, watchdog: watchdog.enabled }, 'device host ready');
  let closing: Promise<void> | null = null;
  const shut = (how: 'close' | 'abort') => {
    closing ??= (async () => {
      watchdog.stop();
      await prog.stop();
      await http?.close();
      await (how === 'close' ? link.close() : link.abort());
      await options.parts.close();
    })();
    return closing;
  };
  return { deviceId: file.device.id, link, program: prog, metrics, http, watchdog, readyMs, health, close: () => shut('close'), abort: () => shut('abort') };
}
