/**
 * The whole card path of claim 36 on 127.0.0.1 ephemeral ports: a phone's
 * signed request → the gateway's wallet API (a real core for the proof) →
 * the card processing apparatus → the issuer host over HTTP. Plus a fake
 * issuer for the faults a real one would not produce on demand.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uuidv7 } from '../../../protocol/index.ts';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import { startIssuerHost } from '../../../settlement-core/cards/index.ts';
import type { IssuerHost } from '../../../settlement-core/cards/index.ts';
import { CardProcessor, deriveCardLogKey, registerCardRoutes } from '../../../gateway/cards/index.ts';
import type { CardAuthorizationBody, IssuerClientLimits, ReversalLimits } from '../../../gateway/cards/index.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';
import { EnrollmentCodes } from '../../../gateway/http/enrollment-codes.ts';
import { registerCardAdminRoutes } from '../../../gateway/http/card-admin.ts';
import { ResultHub } from '../../../gateway/http/result-hub.ts';
import { startHttp } from '../../../gateway/http/server.ts';
import type { HttpServer } from '../../../gateway/http/server.ts';
import { Clock, issuerMasterKey, openCore, seedStation } from '../../settlement-core/fixtures.ts';
import type { Station, TestWallet } from '../../settlement-core/fixtures.ts';
import { RecordingSink, call, signed } from '../http/harness.ts';
import { acquirerToken, addCards, capturingLogger, cardData, clock, pepper, tempDir } from '../../settlement-core/cards/fixtures.ts';
import type { RequestOptions } from '../../settlement-core/cards/fixtures.ts';

export interface CardHarness {
  core: SettlementCore;
  station: Station;
  issuer: IssuerHost;
  tokens: Map<string, string>;
  processor: CardProcessor;
  server: HttpServer;
  base: string;
  dir: string;
  paths: { issuerDb: string; cardLog: string; ledger: string };
  logs: () => string;
  close(): Promise<void>;
}

export interface CardHarnessOptions {
  /** Point the processor here instead of the real issuer (a fake, or a closed port). */
  issuerUrl?: string;
  clientLimits?: Partial<IssuerClientLimits>;
  /** The token the processor presents (default: the one the issuer expects). */
  acquirerToken?: string;
  reversalLimits?: Partial<ReversalLimits>;
  /** Also serve the operator's card routes (gateway/http/card-admin.ts), with this admin token (none: they answer 403). */
  admin?: { token?: string };
}

/** The merchant seedStation opens first (branch 500): cardBody() pays it, so approvals are captured. */
export const harnessMerchant = '500-0000001';

export async function startCardHarness(o: CardHarnessOptions = {}): Promise<CardHarness> {
  const t = tempDir('tapsettle-gw-cards-');
  const logs = capturingLogger();
  const paths = { issuerDb: `${t.dir}/issuer.db`, cardLog: `${t.dir}/card-authorizations.db`, ledger: `${t.dir}/ledger.db` };
  const core = await openCore(paths.ledger);
  const station = await seedStation(core, new Clock(), [{ balance: 10_000 }, { balance: 10_000 }]);
  const issuer = await startIssuerHost({ dbPath: paths.issuerDb, pepper, acquirerToken, port: 0, host: '127.0.0.1', clock, logger: logs.logger });
  const tokens = addCards(issuer.store);
  if (station.merchant !== harnessMerchant) throw new Error(`the station's merchant is ${station.merchant}, cardBody() pays ${harnessMerchant}`);
  const processor = new CardProcessor({
    issuerUrl: o.issuerUrl ?? issuer.url, acquirerToken: o.acquirerToken ?? acquirerToken, logPath: paths.cardLog, fingerprintKey: deriveCardLogKey(issuerMasterKey),
    ledger: core, logger: logs.logger, ...(o.clientLimits ? { clientLimits: o.clientLimits } : {}), ...(o.reversalLimits ? { reversalLimits: o.reversalLimits } : {}),
  });
  const hub = new ResultHub();
  const codes = new EnrollmentCodes({ path: `${t.dir}/enrollment.db` });
  const server = await startHttp({
    core, hub, sink: new RecordingSink(hub), codes, metrics: new GatewayMetrics({ defaultMetrics: false, backlogCacheMs: 0 }), online: () => new Map(),
    port: 0, host: '127.0.0.1', limits: { shutdownGraceMs: 200 }, logger: logs.logger,
    ...(o.admin?.token !== undefined ? { adminToken: o.admin.token } : {}),
    routes: (app) => {
      registerCardRoutes(app, { core, processor });
      if (o.admin) registerCardAdminRoutes(app, { processor, ...(o.admin.token !== undefined ? { adminToken: o.admin.token } : {}) });
    },
  });
  return {
    core, station, issuer, tokens, processor, server, base: server.url, dir: t.dir, paths, logs: logs.text,
    close: async () => {
      await server.close();
      await issuer.close();
      await processor.close();
      await core.close();
      codes.close();
      t.cleanup();
    },
  };
}

export function cardBody(pan: string, o: RequestOptions = {}): CardAuthorizationBody {
  return {
    authorizationId: o.id ?? uuidv7(), card: cardData(pan, o.card), ...(o.pin !== undefined ? { pin: o.pin } : {}),
    amount: { minor: o.minor ?? 1_250, currency: o.currency ?? 'EUR' }, merchant: harnessMerchant, mcc: o.mcc ?? '5814',
  };
}

export const cardPath = (w: TestWallet): string => `/v1/wallets/${w.walletId}/card-authorizations`;

/** The phone pays: a signed POST of `body` (an object, or raw text to send as is). */
export function pay(h: { base: string }, w: TestWallet, body: CardAuthorizationBody | string, o: { signAs?: TestWallet } = {}) {
  return call(signed(h.base, w, 'POST', cardPath(w), { body: typeof body === 'string' ? body : JSON.stringify(body), ...(o.signAs ? { signAs: o.signAs } : {}) }));
}

export type FakeMode = 'hang' | 'garbage' | 'wrong-id' | 'http-500' | 'http-503' | 'huge' | 'reset';

/** An issuer that misbehaves on purpose; counts the requests it holds at once. */
export async function startFakeIssuer(mode: FakeMode): Promise<{ url: string; peak: () => number; seen: () => number; release: () => void; close: () => Promise<void> }> {
  let open = 0;
  let peak = 0;
  let seen = 0;
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen += 1;
      open += 1;
      peak = Math.max(peak, open);
      res.on('close', () => {
        open -= 1;
      });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { authorizationId: string; amount: unknown; card: { pan: string } };
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      switch (mode) {
        case 'hang': held.push(res); return;
        case 'garbage': res.writeHead(200, { 'content-type': 'application/json' }).end('{"v":1,"responseCode":"00","approved":tru'); return;
        case 'wrong-id': json(200, { v: 1, authorizationId: uuidv7(), responseCode: '00', approved: true, approvalCode: 'ABC123', cardToken: null, last4: body.card.pan.slice(-4), amount: body.amount, decidedAt: 1 }); return;
        case 'http-500': json(500, { error: { code: 'TS_ERR_INTERNAL', message: 'x' } }); return;
        case 'http-503': json(503, { error: { code: 'TS_ERR_UNAVAILABLE', message: 'closing' } }); return;
        case 'huge': res.writeHead(200, { 'content-type': 'application/json' }).end(`{"pad":"${'x'.repeat(20_000)}"}`); return;
        case 'reset': req.socket.destroy(); return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    peak: () => peak,
    seen: () => seen,
    release: () => {
      for (const res of held.splice(0)) res.destroy();
    },
    close: async () => {
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
