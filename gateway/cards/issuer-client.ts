/**
 * The card processing apparatus's line to the card authentication apparatus
 * (claim 36): POST /v1/authorizations and POST /v1/reversals on the issuer
 * host, with a deadline and a bounded number of requests in flight (one pool
 * for both). It never throws for the issuer's sake; it says what happened:
 *
 *   answer       the issuer decided (any code), and its answer is well formed
 *                and about the request sent
 *   mismatch     the issuer refused: this id was used with other content
 *   unavailable  no answer in time, refused connection, 503 → the caller answers 91
 *   garbled      an answer that is not a valid AuthorizationResponse to this
 *                request, or a status the issuer should never give → 96
 *   busy         every slot and the whole waiting line are taken → try again
 *
 * A reversal can also be refused `amount-mismatch`: the amount is not the
 * authorization's (nothing was reversed).
 */
import { AuthorizationResponse, ReversalResponse } from '../../settlement-core/cards/index.ts';
import type { AuthorizationRequest, ReversalRequest } from '../../settlement-core/cards/index.ts';

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

/** What happened on the line, whatever was asked. */
type LineOutcome =
  | { kind: 'mismatch' }
  | { kind: 'unavailable'; why: string }
  | { kind: 'garbled'; why: string }
  | { kind: 'busy' };

export type IssuerAnswer = { kind: 'answer'; response: AuthorizationResponse } | LineOutcome;

export type ReversalAnswer = { kind: 'answer'; response: ReversalResponse } | { kind: 'amount-mismatch' } | LineOutcome;

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

function checkOptions(o: IssuerClientOptions, l: IssuerClientLimits): { authorizations: URL; reversals: URL } {
  for (const [name, value] of Object.entries(l)) if (!Number.isSafeInteger(value) || value < 1) throw new IssuerClientError(`issuer client limit ${name} must be an integer ≥ 1, got ${String(value)}`);
  let url: URL;
  try {
    url = new URL('/v1/authorizations', o.url);
  } catch {
    throw new IssuerClientError('issuer url: expected an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new IssuerClientError('issuer url: expected an http(s) URL');
  if (typeof o.acquirerToken !== 'string' || o.acquirerToken.length === 0) throw new IssuerClientError('acquirerToken: required');
  return { authorizations: url, reversals: new URL('/v1/reversals', o.url) };
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
  private readonly endpoints: { authorizations: URL; reversals: URL };
  private readonly authorization: string;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: IssuerClientOptions) {
    this.limits = { ...defaultIssuerClientLimits, ...options.limits };
    this.endpoints = checkOptions(options, this.limits);
    this.authorization = `Bearer ${options.acquirerToken}`;
  }

  get stats(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.length };
  }

  authorize(req: AuthorizationRequest): Promise<IssuerAnswer> {
    return this.bounded((timeoutMs) => this.send<IssuerAnswer>(this.endpoints.authorizations, req, timeoutMs, (bytes) => checkAnswer(bytes, req)));
  }

  /** ISO 8583 0400: undo an authorization; an approved one gives its open-to-buy back, once. Same deadline and pool as authorize(). */
  reverse(req: ReversalRequest): Promise<ReversalAnswer> {
    return this.bounded((timeoutMs) => this.send<ReversalAnswer>(this.endpoints.reversals, req, timeoutMs, (bytes) => checkReversal(bytes, req), (code) => (code === 'TS_ERR_CARD_REVERSAL_MISMATCH' ? { kind: 'amount-mismatch' } : null)));
  }

  /** Runs `call` holding a slot, within the whole call's deadline (waiting for the slot included). */
  private async bounded<A>(call: (timeoutMs: number) => Promise<A | LineOutcome>): Promise<A | LineOutcome> {
    const deadline = performance.now() + this.limits.timeoutMs;
    if (this.inFlight >= this.limits.concurrentMax) {
      if (this.waiting.length >= this.limits.waitingMax) return { kind: 'busy' };
      if (!(await this.waitForSlot(deadline))) return { kind: 'unavailable', why: 'no slot to the issuer before the deadline' };
    } else {
      this.inFlight += 1;
    }
    try {
      return await call(Math.max(1, Math.ceil(deadline - performance.now())));
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

  /** One POST; `check` reads a 200 answer, `on409` an issuer refusal other than a duplicate id. */
  private async send<A>(endpoint: URL, req: object, timeoutMs: number, check: (bytes: Buffer) => A | LineOutcome, on409: (code: string | null) => A | null = () => null): Promise<A | LineOutcome> {
    let res: Response;
    let bytes: Buffer | null;
    try {
      res = await fetch(endpoint, {
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
    const refused = res.status === 409 ? on409(errorCodeOf(bytes)) : null;
    if (refused !== null) return refused;
    if (res.status !== 200) return { kind: 'garbled', why: `the issuer answered HTTP ${res.status}${errorCodeOf(bytes) ? ` ${errorCodeOf(bytes)}` : ''}` };
    return check(bytes);
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

function parseJson(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** An answer must be a valid AuthorizationResponse about exactly the request sent. */
function checkAnswer(bytes: Buffer, req: AuthorizationRequest): IssuerAnswer {
  const json = parseJson(bytes);
  if (!json.ok) return { kind: 'garbled', why: 'the issuer answer is not JSON' };
  const parsed = AuthorizationResponse.safeParse(json.value);
  if (!parsed.success) return { kind: 'garbled', why: `the issuer answer is not an AuthorizationResponse (${parsed.error.issues[0]?.path.join('.') || 'body'})` };
  const r = parsed.data;
  if (r.authorizationId !== req.authorizationId || r.amount.minor !== req.amount.minor || r.amount.currency !== req.amount.currency || r.last4 !== req.card.pan.slice(-4)) {
    return { kind: 'garbled', why: 'the issuer answer is about another request' };
  }
  return { kind: 'answer', response: r };
}

/** A reversal answer must be a valid ReversalResponse about exactly the reversal sent. */
function checkReversal(bytes: Buffer, req: ReversalRequest): ReversalAnswer {
  const json = parseJson(bytes);
  if (!json.ok) return { kind: 'garbled', why: 'the issuer answer is not JSON' };
  const parsed = ReversalResponse.safeParse(json.value);
  if (!parsed.success) return { kind: 'garbled', why: `the issuer answer is not a ReversalResponse (${parsed.error.issues[0]?.path.join('.') || 'body'})` };
  const r = parsed.data;
  if (r.authorizationId !== req.authorizationId || r.amount.minor !== req.amount.minor || r.amount.currency !== req.amount.currency) {
    return { kind: 'garbled', why: 'the issuer answer is about another reversal' };
  }
  return { kind: 'answer', response: r };
}
