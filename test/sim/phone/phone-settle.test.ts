/**
 * Claim 9 on the phone: AUTHORIZE PURCHASE, PHONE SETTLES (INS 22) and the
 * wallet API client (real HTTP against small local servers: refusals,
 * timeouts, garbage, the result stream).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WalletClient } from '../../../hardware/wallet-client.ts';
import { appletData, appletCommands, sw } from '../../../protocol/applet.ts';
import { resultTag, uuidv7, walletCryptogram } from '../../../protocol/index.ts';
import type { SettleRequest, SettleResult } from '../../../protocol/index.ts';
import { proofHeaders } from '../../../protocol/wallet-proof.ts';
import { DirectTransport } from '../../../sim/phone/direct-transport.ts';
import { WalletApiClient, WalletApiError } from '../../../sim/phone/wallet-api-client.ts';
import { authorizeRequest, deviceId, walletId, walletKey } from './fixtures.ts';
import { openPhone, selectedPhone, send } from './helpers.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const deviceKey = Buffer.alloc(32, 7);
function resultFor(request: SettleRequest): SettleResult {
  const body = { v: 1 as const, type: 'result' as const, requestId: request.requestId, sentAt: Date.now(), deviceId: request.deviceId, status: 'approved' as const, amount: request.purchase.amount };
  return { ...body, tag: resultTag(deviceKey, body) };
}

const client = (baseUrl: string, timeoutMs = 1_000): WalletApiClient => new WalletApiClient({ baseUrl, walletId, walletKey, timeoutMs });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(WalletApiError);
    return (err as WalletApiError).code;
  }
  throw new Error('resolved');
}

describe('AUTHORIZE PURCHASE, PHONE SETTLES', () => {
  it('answers the authorization at once and hands the SettleRequest (requestId and deadline as asked) to the wallet API', async () => {
    const received: SettleRequest[] = [];
    const base = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const request = JSON.parse(body) as SettleRequest;
        received.push(request);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(resultFor(request)));
      });
    });
    const phone = await openPhone({ walletApi: client(base) });
    const transport = new DirectTransport(phone);
    transport.activate();
    const wallet = new WalletClient(transport);
    await wallet.select();
    const requestId = uuidv7();
    const auth = await wallet.authorizePhoneSettle({ ...authorizeRequest(3), requestId, outcomeDeadlineSec: 90 });
    expect(auth.counter).toBe(1);
    await phone.results.close();
    expect(received).toHaveLength(1);
    const sent = received[0]!;
    expect(sent).toMatchObject({ requestId, deviceId, outcomeDeadlineSec: 90, wallet: auth, purchase: authorizeRequest(3).purchase });
    expect(sent.wallet.cryptogram).toBe(walletCryptogram(walletKey, { walletId, deviceId, purchase: sent.purchase, deviceNonce: sent.wallet.deviceNonce, counter: 1 }));
    expect(phone.results.sent[0]!.result?.status).toBe('approved');
    expect(phone.results.resultsFor(requestId)).toEqual([{ result: phone.results.sent[0]!.result, via: 'settle-answer' }]);
  });

  it('a phone without the wallet API answers 6985 and uses no counter', async () => {
    const phone = await selectedPhone();
    const data = appletData.phoneSettleCommand.encode({ ...authorizeRequest(1), requestId: uuidv7(), outcomeDeadlineSec: 60 });
    expect((await send(phone, appletCommands.authorizePhoneSettle(data))).sw).toBe(sw.conditionsNotSatisfied);
    expect(phone.counter).toBe(0);
  });

  it('refuses a malformed command (6A80) and P1/P2 (6A86)', async () => {
    const phone = await selectedPhone({ walletApi: client('http://127.0.0.1:9') });
    const good = appletData.phoneSettleCommand.encode({ ...authorizeRequest(1), requestId: uuidv7(), outcomeDeadlineSec: 60 });
    expect((await send(phone, appletCommands.authorizePhoneSettle(good.subarray(0, good.length - 3)))).sw).toBe(sw.wrongData);
    expect((await send(phone, { ...appletCommands.authorizePhoneSettle(good), p1: 1 })).sw).toBe(sw.incorrectP1P2);
    expect(phone.counter).toBe(0);
  });
});

describe('WalletApiClient', () => {
  it('names a bad option', () => {
    expect(() => new WalletApiClient({ baseUrl: 'ftp://x', walletId, walletKey })).toThrow(/baseUrl/);
    expect(() => new WalletApiClient({ baseUrl: 'http://127.0.0.1:1', walletId: 'nope', walletKey })).toThrow(/walletId/);
    expect(() => new WalletApiClient({ baseUrl: 'http://127.0.0.1:1', walletId, walletKey, timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  it('codes an unreachable gateway, a silent one, a refusal and a garbage answer', async () => {
    const req = { requestId: uuidv7() } as SettleRequest;
    expect(await codeOf(client('http://127.0.0.1:9').settle(req))).toBe('TS_ERR_WALLET_API_UNREACHABLE');
    const silent = await serve(() => undefined);
    expect(await codeOf(client(silent, 200).settle(req))).toBe('TS_ERR_WALLET_API_TIMEOUT');
    const refusing = await serve((_, res) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'TS_ERR_INVALID_BODY', message: 'no' } })));
    const err = await client(refusing).settle(req).catch((e: unknown) => e as WalletApiError);
    expect(err).toMatchObject({ code: 'TS_ERR_WALLET_API_REFUSED', status: 400, apiCode: 'TS_ERR_INVALID_BODY' });
    const garbage = await serve((_, res) => res.writeHead(200).end('{"status":"approved"}'));
    expect(await codeOf(client(garbage).settle(req))).toBe('TS_ERR_WALLET_API_BAD_ANSWER');
    const huge = await serve((_, res) => res.writeHead(200).end('x'.repeat(100_000)));
    expect(await codeOf(client(huge).settle(req))).toBe('TS_ERR_WALLET_API_BAD_ANSWER');
  });

  it('streams results with a signed request, skipping heartbeats and other events; counters increase', async () => {
    const counters: number[] = [];
    const request = { requestId: uuidv7(), deviceId, purchase: authorizeRequest(1).purchase } as SettleRequest;
    const result = resultFor(request);
    const base = await serve((req, res) => {
      counters.push(Number(req.headers[proofHeaders.counter]));
      expect(req.headers[proofHeaders.mac]).toMatch(/^[0-9a-f]{64}$/);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 3000\n: stream open\n\n: heartbeat\n\nevent: other\ndata: {}\n\n');
      res.write(`id: ${result.requestId}\nevent: result\ndata: ${JSON.stringify(result).slice(0, 20)}`);
      res.write(`${JSON.stringify(result).slice(20)}\n\nevent: result\ndata: not json\n\n`);
    });
    const c = client(base);
    const got: SettleResult[] = [];
    const stream = await c.streamResults((r) => got.push(r));
    const second = await c.streamResults(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    stream.close();
    second.close();
    await stream.ended;
    expect(got).toEqual([result]);
    expect(counters).toEqual([1, 2]);
  });

  it('a refused stream is a coded error', async () => {
    const base = await serve((_, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'TS_ERR_BAD_PROOF', message: 'no' } })));
    const err = await client(base).streamResults(() => undefined).catch((e: unknown) => e as WalletApiError);
    expect(err).toMatchObject({ code: 'TS_ERR_WALLET_API_REFUSED', status: 401, apiCode: 'TS_ERR_BAD_PROOF' });
  });
});
