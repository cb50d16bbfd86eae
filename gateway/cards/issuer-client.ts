/**
 * The card processing apparatus's line to the card authentication apparatus
 * (claim 36): POST /v1/authorizations on the issuer host, with a deadline
 * and a bounded number of requests in flight. It never throws for the
 * issuer's sake; it says what happened:
 *
 *   answer       the issuer decided (any code), and its answer is well formed
 *                and about the request sent
 *   mismatch     the issuer refused: this id was used with other content
 *   unavailable  no answer in time, refused connection, 503 → the caller answers 91
 *   garbled      an answer that is not a valid AuthorizationResponse to this
 *                request, or a status the issuer should never give → 96
 *   busy         every slot and the whole waiting line are taken → try again
 */
import { AuthorizationResponse } from '../../settlement-core/cards/index.ts';
import type { AuthorizationRequest } from '../../settlement-core/cards/index.ts';

export interface IssuerClientLimits {
  /** The whole call, waiting for a slot included: a phone at a till waits about this long, then hears 91 and may resend the same id. */
  timeoutMs: number;
  /** Requests to the issuer at once: its host serializes on one database anyway; more only queues there. */
  concurrentMax: number;
  /** Requests waiting for a slot; past this the caller is told busy at once rather than queued without end. */
  waitingMax: number;
  /** An answer is ~350 bytes; 4 KiB is plenty, and a host sending more is not one we trust. */
  responseBytesMax: number;
}

export const defaultIssuerClientLimits: IssuerClientLimits = {
  timeoutMs: 5000,
  concurrentMax: 16,
  waitingMax: 512,
  responseBytesMax: 4096,
};

export type IssuerAnswer =
  | { kind: 'answer'; response: AuthorizationResponse }
  | { kind: 'mismatch' }
  | { kind: 'unavailable'; why: string }
  | { kind: 'garbled'; why: string }
  | { kind: 'busy' };

export interface IssuerClientOptions {
  /** Base URL of the issuer host, e.g. http://127.0.0.1:7400 */
  url: string;
  acquirerToken: string;
  limits?: Partial<IssuerClientLimits>;
}

export class IssuerClientError extends Error {
  override readonly name = 'IssuerClientError';
  readonly code = 'TS_ERR_CARD_OPTION';
}

function checkOptions(o: IssuerClientOptions, l: IssuerClientLimits): URL {
  for (const [name, value] of Object.entries(l)) if (!Number.isSafeInteger(value) || value < 1) throw new IssuerClientError(`issuer client limit ${name} must be an integer ≥ 1, got ${String(value)}`);
  let url: URL;
  try {
    url = new URL('/v1/authorizations', o.url);
  } catch {
    throw new IssuerClientError('issuer url: expected an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new IssuerClientError('issuer url: expected an http(s) URL');
  if (typeof o.acquirerToken !== 'string' || o.acquirerToken.length === 0) throw new IssuerClientError('acquirerToken: required');
  return url;
}

/** Reads at most `max` bytes of a body; null when it is longer. */
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<Buffer | null> {
  if (body === null) return Buffer.alloc(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(parts);
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    parts.push(value);
  }
}

export class IssuerClient {
  readonly limits: IssuerClientLimits;
  private readonly endpoint: URL;
  private readonly authorization: string;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: IssuerClientOptions) {
    this.limits = { ...defaultIssuerClientLimits, ...options.limits };
    this.endpoint = checkOptions(options, this.limits);
    this.authorization = `Bearer ${options.acquirerToken}`;
  }

  get stats(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.length };
  }

  async authorize(req: AuthorizationRequest): Promise<IssuerAnswer> {
    const deadline = performance.now() + this.limits.timeoutMs;
    if (this.inFlight >= this.limits.concurrentMax) {
      if (this.waiting.length >= this.limits.waitingMax) return { kind: 'busy' };
      if (!(await this.waitForSlot(deadline))) return { kind: 'unavailable', why: 'no slot to the issuer before the deadline' };
    } else {
      this.inFlight += 1;
    }
    try {
      return await this.send(req, Math.max(1, Math.ceil(deadline - performance.now())));
    } finally {
      this.release();
    }
  }

  /** Resolves true holding a slot, or false (holding none) once the deadline passes. */
  private waitForSlot(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      }, Math.max(1, deadline - performance.now()));
      this.waiting.push(wake);
    });
  }

  /** Hands the slot straight to the next waiter, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight -= 1;
  }

  private async send(req: AuthorizationRequest, timeoutMs: number): Promise<IssuerAnswer> {
    let res: Response;
    let bytes: Buffer | null;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: this.authorization },
        body: JSON.stringify(req),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      bytes = await readCapped(res.body, this.limits.responseBytesMax);
    } catch (err) {
      // Refused, reset, timed out, aborted: no answer. The error names the network failure, never the body.
      const name = err instanceof Error ? err.name : 'error';
      return { kind: 'unavailable', why: name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `no connection to the issuer (${name})` };
    }
    if (bytes === null) return { kind: 'garbled', why: `answer larger than ${this.limits.responseBytesMax} bytes` };
    if (res.status === 503) return { kind: 'unavailable', why: 'the issuer host is closing or its database is down (503)' };
    if (res.status === 409 && errorCodeOf(bytes) === 'TS_ERR_CARD_DUPLICATE_MISMATCH') return { kind: 'mismatch' };
    if (res.status !== 200) return { kind: 'garbled', why: `the issuer answered HTTP ${res.status}${errorCodeOf(bytes) ? ` ${errorCodeOf(bytes)}` : ''}` };
    return checkAnswer(bytes, req);
  }
}

function errorCodeOf(bytes: Buffer): string | null {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { error?: { code?: unknown } };
    const code = body.error?.code;
    return typeof code === 'string' && /^TS_ERR_[A-Z_]{1,40}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

/** An answer must be a valid AuthorizationResponse about exactly the request sent. */
function checkAnswer(bytes: Buffer, req: AuthorizationRequest): IssuerAnswer {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { kind: 'garbled', why: 'the issuer answer is not JSON' };
  }
  const parsed = AuthorizationResponse.safeParse(value);
  if (!parsed.success) return { kind: 'garbled', why: `the issuer answer is not an AuthorizationResponse (${parsed.error.issues[0]?.path.join('.') || 'body'})` };
  const r = parsed.data;
  if (r.authorizationId !== req.authorizationId || r.amount.minor !== req.amount.minor || r.amount.currency !== req.amount.currency || r.last4 !== req.card.pan.slice(-4)) {
    return { kind: 'garbled', why: 'the issuer answer is about another request' };
  }
  return { kind: 'answer', response: r };
}
