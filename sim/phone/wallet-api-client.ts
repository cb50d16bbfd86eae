/**
 * The simulated phone's side of the wallet API (docs/gateway.md "Wallet
 * API"), over real HTTP (fetch), every call bounded by a timeout:
 * - claim 9: POST /v1/settle, the settling information the phone sends itself
 *   (the body carries the wallet's cryptogram; no request proof);
 * - claim 12: the results of the wallet's settlements, as the Server-Sent
 *   Events stream GET /v1/wallets/{w}/results, or one by one.
 * Requests that read the wallet's data carry the wallet proof
 * (protocol/wallet-proof.ts) with an API counter of their own, increasing.
 */
import { decodeMessage, limits, WalletId } from '../../protocol/index.ts';
import type { SettleRequest, SettleResult } from '../../protocol/index.ts';
import { walletProofHeaders } from '../../protocol/wallet-proof.ts';

export type WalletApiErrorCode =
  /** An option is missing or out of range; the message names it. */
  | 'TS_ERR_WALLET_API_OPTION'
  /** No answer within timeoutMs. */
  | 'TS_ERR_WALLET_API_TIMEOUT'
  /** The gateway could not be reached (refused, reset, DNS). */
  | 'TS_ERR_WALLET_API_UNREACHABLE'
  /** The gateway answered with an error; `status` and `apiCode` say which. */
  | 'TS_ERR_WALLET_API_REFUSED'
  /** The answer is not what the API promises (not JSON, not a SettleResult, too long). */
  | 'TS_ERR_WALLET_API_BAD_ANSWER';

export class WalletApiError extends Error {
  override readonly name = 'WalletApiError';
  constructor(readonly code: WalletApiErrorCode, message: string, readonly status: number | null = null, readonly apiCode: string | null = null, options?: ErrorOptions) {
    super(message, options);
  }
}

export const walletApiDefaults = {
  /** A settle is ~10 ms on a LAN; 5 s covers a mobile uplink and a busy core, and is as long as a customer waits at a terminal. */
  timeoutMs: 5_000,
} as const;
export const walletApiTimeoutMsMax = 60_000;
/** An answer body: a SettleResult is at most messageBytesMax; error bodies are smaller. */
export const answerBytesMax = 2 * limits.messageBytesMax;
/** One SSE event (id, event, a SettleResult as data): a partial event longer than this is a broken stream. */
export const streamEventBytesMax = 2 * limits.messageBytesMax;

export interface WalletApiClientOptions {
  /** http(s)://host:port of the gateway's HTTP API. */
  baseUrl: string;
  walletId: string;
  walletKey: Uint8Array;
  timeoutMs?: number;
  /** The last API counter used (the next request signs with one more). */
  lastCounter?: number;
}

export interface ResultStream {
  /** Ends the stream; idempotent. */
  close(): void;
  /** Resolves when the stream ended (closed, or cut by the gateway); never rejects. */
  readonly ended: Promise<void>;
}

type Fetched = { status: number; text: string };

export class WalletApiClient {
  readonly baseUrl: string;
  readonly walletId: string;
  private readonly walletKey: Uint8Array;
  readonly timeoutMs: number;
  private counter: number;
  /** Signed requests go out one at a time, so their counters reach the core in order. */
  private signedQueue: Promise<unknown> = Promise.resolve();

  constructor(options: WalletApiClientOptions) {
    const bad = (option: string, why: string): never => {
      throw new WalletApiError('TS_ERR_WALLET_API_OPTION', `${option}: ${why}`);
    };
    if (typeof options.baseUrl !== 'string' || !/^https?:\/\/[^\s/]+$/.test(options.baseUrl.replace(/\/$/, ''))) bad('baseUrl', 'expected http(s)://host:port');
    if (!WalletId.safeParse(options.walletId).success) bad('walletId', 'expected the UUIDv7 the core assigned at enrollment');
    if (!(options.walletKey instanceof Uint8Array) || options.walletKey.byteLength < 16) bad('walletKey', 'expected the wallet key');
    const t = options.timeoutMs ?? walletApiDefaults.timeoutMs;
    if (!Number.isInteger(t) || t < 1 || t > walletApiTimeoutMsMax) bad('timeoutMs', `expected an integer 1..${walletApiTimeoutMsMax}`);
    const c = options.lastCounter ?? 0;
    if (!Number.isInteger(c) || c < 0 || c >= limits.walletCounterMax) bad('lastCounter', `expected an integer 0..${limits.walletCounterMax - 1}`);
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.walletId = options.walletId;
    this.walletKey = Uint8Array.from(options.walletKey);
    this.timeoutMs = t;
    this.counter = c;
  }

  /** Claim 9: sends the SettleRequest; resolves with the SettleResult (approved or declined), exactly what the device gets. */
  async settle(request: SettleRequest): Promise<SettleResult> {
    const body = JSON.stringify(request);
    const answer = await this.fetchText('/v1/settle', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return readResult(answer.text);
  }

  /** Claim 12, one result: from the gateway's recent results, or (given the device id) from the journal. */
  async result(requestId: string, deviceId?: string): Promise<SettleResult> {
    const path = `/v1/wallets/${this.walletId}/results/${requestId}`;
    const params: Record<string, string> = deviceId === undefined ? {} : { deviceId };
    const query = deviceId === undefined ? '' : `?deviceId=${encodeURIComponent(deviceId)}`;
    const answer = await this.signed(() => this.fetchText(`${path}${query}`, { method: 'GET', headers: this.proof('GET', path, params) }));
    return readResult(answer.text);
  }

  /**
   * Claim 12, streamed: calls `onResult` with every result of this wallet's
   * settlements, whoever sent them. Resolves once the gateway accepted the
   * stream (its proof checked), rejects with a coded error otherwise.
   */
  async streamResults(onResult: (result: SettleResult) => void): Promise<ResultStream> {
    const path = `/v1/wallets/${this.walletId}/results`;
    const abort = new AbortController();
    const res = await this.signed(async () => {
      const timer = setTimeout(() => abort.abort(new WalletApiError('TS_ERR_WALLET_API_TIMEOUT', `no answer to GET ${path} within ${this.timeoutMs} ms`)), this.timeoutMs);
      try {
        return await fetch(`${this.baseUrl}${path}`, { method: 'GET', headers: this.proof('GET', path, {}), signal: abort.signal });
      } catch (err) {
        throw fetchFailure(err, abort.signal, path);
      } finally {
        clearTimeout(timer);
      }
    });
    if (res.status !== 200 || res.body === null) {
      const text = await res.text().catch(() => '');
      abort.abort();
      throw refused(res.status, text);
    }
    const ended = readEvents(res.body, onResult).catch(() => undefined);
    return { close: () => abort.abort(), ended };
  }

  /**
   * Any other proven wallet route (e-money: phone-emoney.ts): signs method,
   * path, query and the exact body, and resolves with the 200 answer's text
   * (at most `bytesMax`), or rejects with a coded error.
   */
  async signedRequest(method: 'GET' | 'POST', path: string, options: { params?: Record<string, string>; body?: string; bytesMax?: number } = {}): Promise<string> {
    const params = options.params ?? {};
    const query = Object.keys(params).length === 0 ? '' : `?${new URLSearchParams(params).toString()}`;
    const body = options.body;
    const answer = await this.signed(() => this.fetchText(`${path}${query}`, {
      method,
      headers: { ...this.proof(method, path, params, body), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body } : {}),
    }, options.bytesMax));
    return answer.text;
  }

  private proof(method: string, path: string, params: Record<string, string>, body?: string): Record<string, string> {
    if (this.counter >= limits.walletCounterMax) throw new WalletApiError('TS_ERR_WALLET_API_OPTION', 'the API counter is exhausted: enroll the wallet again');
    this.counter += 1;
    return walletProofHeaders({ walletId: this.walletId, walletKey: this.walletKey, counter: this.counter, method, path, params, ...(body !== undefined ? { body } : {}) });
  }

  private signed<T>(run: () => Promise<T>): Promise<T> {
    const result = this.signedQueue.then(run);
    this.signedQueue = result.catch(() => undefined);
    return result;
  }

  private async fetchText(path: string, init: RequestInit, bytesMax = answerBytesMax): Promise<Fetched> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { ...init, signal });
      text = await boundedText(res, bytesMax);
    } catch (err) {
      throw fetchFailure(err, signal, path);
    }
    if (res.status !== 200) throw refused(res.status, text);
    return { status: res.status, text };
  }
}

function fetchFailure(err: unknown, signal: AbortSignal, path: string): WalletApiError {
  if (err instanceof WalletApiError) return err;
  if (signal.aborted) return signal.reason instanceof WalletApiError ? signal.reason : new WalletApiError('TS_ERR_WALLET_API_TIMEOUT', `no answer to ${path} in time`, null, null, { cause: err });
  return new WalletApiError('TS_ERR_WALLET_API_UNREACHABLE', `${path}: ${(err as Error).message}`, null, null, { cause: err });
}

/** Reads a body up to bytesMax (answerBytesMax unless a route says otherwise); a longer one is refused rather than buffered. */
async function boundedText(res: Response, bytesMax: number): Promise<string> {
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > bytesMax) throw new WalletApiError('TS_ERR_WALLET_API_BAD_ANSWER', `answer of ${length} bytes, limit ${bytesMax}`, res.status);
  const text = await res.text();
  if (Buffer.byteLength(text) > bytesMax) throw new WalletApiError('TS_ERR_WALLET_API_BAD_ANSWER', `answer longer than ${bytesMax} bytes`, res.status);
  return text;
}

function refused(status: number, text: string): WalletApiError {
  let apiCode: string | null = null;
  let message = text.slice(0, 200);
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') apiCode = body.error.code.slice(0, 64);
    if (typeof body.error?.message === 'string') message = body.error.message.slice(0, 200);
  } catch {
    // not JSON: keep the raw start of the text
  }
  return new WalletApiError('TS_ERR_WALLET_API_REFUSED', `HTTP ${status} ${apiCode ?? ''}: ${message}`, status, apiCode);
}

function readResult(text: string): SettleResult {
  const decoded = decodeMessage('result', Buffer.from(text));
  if (!decoded.ok) throw new WalletApiError('TS_ERR_WALLET_API_BAD_ANSWER', `not a SettleResult: ${decoded.reason}: ${decoded.message}`.slice(0, 300), 200);
  return decoded.value;
}

/** Parses the SSE stream event by event (bounded); hands on each `result` event that decodes; ignores comments and heartbeats. */
async function readEvents(body: ReadableStream<Uint8Array>, onResult: (result: SettleResult) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const result = resultOfEvent(block);
      if (result !== null) onResult(result);
    }
    if (buffer.length > streamEventBytesMax) throw new WalletApiError('TS_ERR_WALLET_API_BAD_ANSWER', `an event longer than ${streamEventBytesMax} bytes`);
  }
}

function resultOfEvent(block: string): SettleResult | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (event !== 'result' || data.length === 0) return null;
  const decoded = decodeMessage('result', Buffer.from(data.join('\n')));
  return decoded.ok ? decoded.value : null;
}
