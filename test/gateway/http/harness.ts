/** A gateway HTTP server over a real core on a temp SQLite file, and a phone's signed requests. */
import { Clock, openCore, seedStation, tempDir } from '../../settlement-core/fixtures.ts';
import type { Station, TestWallet } from '../../settlement-core/fixtures.ts';
import { walletRequestMac } from '../../../protocol/index.ts';
import type { CoreOptions, CustomerAttributes } from '../../../settlement-core/index.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';
import { EnrollmentCodes } from '../../../gateway/http/enrollment-codes.ts';
import { ResultHub } from '../../../gateway/http/result-hub.ts';
import type { ResultHubLimits, ResultSink } from '../../../gateway/http/result-hub.ts';
import { startHttp } from '../../../gateway/http/server.ts';
import type { HttpLimits, HttpServer } from '../../../gateway/http/server.ts';
import type { DevicePresence } from '../../../gateway/http/admin.ts';
import { canonicalQuery, proofHeaders, proofPath, sha256Hex } from '../../../gateway/http/wallet-proof.ts';

/** A ResultSink that records what would go to devices over MQTT and passes wallet results to the hub. */
export class RecordingSink implements ResultSink {
  readonly toDevice: { deviceId: string; json: string }[] = [];
  readonly toWallet: { walletId: string; json: string }[] = [];
  private waiters: (() => void)[] = [];
  constructor(private readonly hub: ResultHub) {}
  deliverToDevice(deviceId: string, json: string): Promise<void> {
    this.toDevice.push({ deviceId, json });
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve();
  }
  deliverToWallet(walletId: string, json: string): void {
    this.toWallet.push({ walletId, json });
    this.hub.publish(walletId, json);
  }
  async deviceDeliveries(n: number): Promise<{ deviceId: string; json: string }[]> {
    while (this.toDevice.length < n) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.toDevice;
  }
}

export interface Harness {
  station: Station;
  clock: Clock;
  hub: ResultHub;
  sink: RecordingSink;
  codes: EnrollmentCodes;
  metrics: GatewayMetrics;
  server: HttpServer;
  base: string;
  dir: string;
  presence: Map<string, DevicePresence>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  customers?: { balance: number; attributes?: CustomerAttributes }[];
  limits?: Partial<HttpLimits>;
  hubLimits?: Partial<ResultHubLimits>;
  tls?: { key: string; cert: string };
  adminToken?: string;
  host?: string;
  /** More options for the core (a ticket issuer). */
  core?: Partial<CoreOptions>;
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const t = tempDir('tapsettle-http-');
  const clock = new Clock();
  const metrics = new GatewayMetrics({ defaultMetrics: false, backlogCacheMs: 0 });
  const core = await openCore(`${t.dir}/ledger.db`, { clock: clock.read, onBatch: metrics.observeBatch, ...o.core });
  const station = await seedStation(core, clock, o.customers ?? [{ balance: 10_000 }, { balance: 10_000 }]);
  const hub = new ResultHub(o.hubLimits);
  const sink = new RecordingSink(hub);
  const codes = new EnrollmentCodes({ path: `${t.dir}/enrollment.db`, clock: clock.read });
  const presence = new Map<string, DevicePresence>();
  const server = await startHttp({
    core, hub, sink, codes, metrics, online: () => presence, port: 0, host: o.host ?? '127.0.0.1',
    limits: { shutdownGraceMs: 200, ...o.limits }, ...(o.tls ? { tls: o.tls } : {}), ...(o.adminToken ? { adminToken: o.adminToken } : {}),
  });
  return {
    station, clock, hub, sink, codes, metrics, server, base: server.url, dir: t.dir, presence,
    close: async () => {
      await server.close();
      await core.close();
      codes.close();
      t.cleanup();
    },
  };
}

/** The API counter of each test wallet: separate from its purchase counter, always increasing. */
const apiCounters = new Map<string, number>();
export const nextApiCounter = (w: TestWallet): number => {
  const n = (apiCounters.get(w.walletId) ?? 0) + 1;
  apiCounters.set(w.walletId, n);
  return n;
};

export interface Signed {
  url: string;
  init: Omit<RequestInit, 'headers'> & { headers: Record<string, string> };
  counter: number;
}

/**
 * A request as a phone signs it: the proof covers the method, the path with
 * the canonical query, and the body bytes. `signAs` signs with another
 * wallet's key; `params` are what is signed, `sendParams` (default the same)
 * what is sent.
 */
export function signed(base: string, w: TestWallet, method: 'GET' | 'POST', path: string, o: { params?: Record<string, string>; body?: string; sendParams?: Record<string, string>; signAs?: TestWallet; counter?: number } = {}): Signed {
  const params = o.params ?? {};
  const counter = o.counter ?? nextApiCounter(w);
  const signer = o.signAs ?? w;
  const mac = walletRequestMac(signer.walletKey, { walletId: w.walletId, counter, method, path: proofPath(path, params), bodySha256: sha256Hex(o.body ?? '') });
  const q = canonicalQuery(o.sendParams ?? params);
  const headers: Record<string, string> = { [proofHeaders.counter]: String(counter), [proofHeaders.mac]: mac };
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  return { url: `${base}${path}${q === '' ? '' : `?${q}`}`, init: { method, headers, ...(o.body !== undefined ? { body: o.body } : {}) }, counter };
}

export async function call(s: Signed): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const res = await fetch(s.url, s.init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, body, text, headers: res.headers };
}

export async function post(base: string, path: string, body: string | Uint8Array, contentType = 'application/json'): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  return call({ url: `${base}${path}`, init: { method: 'POST', headers: { 'content-type': contentType }, body }, counter: 0 });
}

/** An error answer: JSON, `{ error: { code: 'TS_ERR_…', message } }`, nothing else. */
export function errorCodeOf(r: { body: unknown; headers: Headers }): string {
  const b = r.body as { error?: { code?: unknown; message?: unknown } } | null;
  if (!r.headers.get('content-type')?.startsWith('application/json')) throw new Error(`not JSON: ${r.headers.get('content-type')}`);
  if (typeof b?.error?.code !== 'string' || typeof b.error.message !== 'string' || Object.keys(b).length !== 1) throw new Error(`not an error body: ${JSON.stringify(b)}`);
  return b.error.code;
}
