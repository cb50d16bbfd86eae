/**
 * The card processing apparatus (claim 36): takes card information from a
 * phone (through the wallet API; a device host that read it with GET CARD
 * hands it over the same way), records the request, asks the card
 * authentication apparatus (the issuer host) and returns its result.
 *
 * Card data is used to build the issuer request and dropped: it is never
 * logged (the logger is given ids, token and last four only, and redacts
 * card fields besides), never put in a metric, never stored.
 */
import { maskPan } from '../../protocol/card-data.ts';
import { isRetryable, responseCodes } from '../../settlement-core/cards/index.ts';
import type { AuthorizationRequest, AuthorizationResponse, ResponseCode } from '../../settlement-core/cards/index.ts';
import { cardRedactPaths, issuerWireVersion } from '../../settlement-core/cards/index.ts';
import { canonicalRequest } from '../../settlement-core/cards/wire.ts';
import { CardAuthorizationLog } from './authorization-log.ts';
import { IssuerClient } from './issuer-client.ts';
import type { IssuerClientLimits } from './issuer-client.ts';
import { CardAuthorizationResult } from './schemas.ts';
import type { CardAuthorizationBody } from './schemas.ts';
import { invariant } from '../../settlement-core/errors.ts';

/** A pino-like logger: only what the processor calls. */
export interface CardLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  child?(bindings: object, options: { redact: { paths: string[]; censor: string } }): CardLogger;
}

export interface CardProcessorOptions {
  /** Base URL of the issuer host. */
  issuerUrl: string;
  /** The bearer token the issuer host expects. */
  acquirerToken: string;
  /** The authorization log file (cardLogPath(dataDir)). */
  logPath: string;
  /** deriveCardLogKey(masterKey): keys the log's content fingerprints. */
  fingerprintKey: Uint8Array;
  clientLimits?: Partial<IssuerClientLimits>;
  clock?: () => number;
  logger?: CardLogger;
  /** Called once per answered authorization: response code and source only (for a metric). */
  observe?: (code: ResponseCode, source: 'issuer' | 'gateway', seconds: number) => void;
}

export type ProcessorReply =
  | { kind: 'result'; json: string; result: CardAuthorizationResult }
  | { kind: 'mismatch' }
  | { kind: 'busy' };

export class CardProcessor {
  readonly client: IssuerClient;
  readonly log: CardAuthorizationLog;
  private readonly clock: () => number;
  private readonly logger: CardLogger | undefined;
  private readonly observe: CardProcessorOptions['observe'];

  constructor(options: CardProcessorOptions) {
    this.client = new IssuerClient({ url: options.issuerUrl, acquirerToken: options.acquirerToken, ...(options.clientLimits ? { limits: options.clientLimits } : {}) });
    this.clock = options.clock ?? Date.now;
    this.log = new CardAuthorizationLog({ path: options.logPath, fingerprintKey: options.fingerprintKey, clock: this.clock });
    const base = options.logger;
    this.logger = base?.child ? base.child({ component: 'card-processing' }, { redact: { paths: cardRedactPaths, censor: '[card data]' } }) : base;
    this.observe = options.observe;
  }

  async authorize(walletId: string, body: CardAuthorizationBody): Promise<ProcessorReply> {
    const started = performance.now();
    const req: AuthorizationRequest = {
      v: issuerWireVersion, authorizationId: body.authorizationId, card: body.card, ...(body.pin !== undefined ? { pin: body.pin } : {}),
      amount: body.amount, merchant: body.merchant, mcc: body.mcc,
    };
    const last4 = body.card.pan.slice(-4);
    const begun = this.log.begin({
      authorizationId: req.authorizationId, walletId, canonical: canonicalRequest(req), last4,
      amountMinor: req.amount.minor, currency: req.amount.currency, merchant: req.merchant, mcc: req.mcc,
    });
    if (begun.kind === 'mismatch') return { kind: 'mismatch' };
    if (begun.kind === 'final') return { kind: 'result', json: begun.json, result: readBack(begun.json, body.authorizationId) };
    const answer = await this.client.authorize(req);
    if (answer.kind === 'busy') return { kind: 'busy' };
    if (answer.kind === 'mismatch') return { kind: 'mismatch' };
    const result = answer.kind === 'answer' ? fromIssuer(answer.response, body) : fromGateway(answer.kind === 'unavailable' ? '91' : '96', body, this.clock());
    const json = JSON.stringify(result);
    const final = result.source === 'issuer' && !isRetryable(result.responseCode);
    this.log.finish({ authorizationId: result.authorizationId, responseCode: result.responseCode, cardToken: result.card.token, source: result.source, final, json });
    const seconds = (performance.now() - started) / 1000;
    this.observe?.(result.responseCode, result.source, seconds);
    const fields = { authorizationId: result.authorizationId, walletId, cardToken: result.card.token, last4, responseCode: result.responseCode, source: result.source, ms: Math.round(seconds * 1000) };
    if (answer.kind === 'answer') this.logger?.info(fields, 'card authorization');
    else this.logger?.warn({ ...fields, why: answer.why }, answer.kind === 'unavailable' ? 'issuer unavailable; answered 91' : 'garbled issuer answer; answered 96');
    return { kind: 'result', json, result };
  }

  close(): void {
    this.log.close();
  }
}

/** Assert on both sides of the disk: a stored answer is still a result, for its own id. */
function readBack(json: string, authorizationId: string): CardAuthorizationResult {
  const parsed = CardAuthorizationResult.safeParse(JSON.parse(json));
  invariant(parsed.success && parsed.data.authorizationId === authorizationId, 'a logged card answer reads back as one, for its own id');
  return parsed.data;
}

function fromIssuer(r: AuthorizationResponse, body: CardAuthorizationBody): CardAuthorizationResult {
  return {
    v: 1, authorizationId: r.authorizationId, responseCode: r.responseCode, responseText: responseCodes[r.responseCode], approved: r.approved,
    approvalCode: r.approvalCode, card: { token: r.cardToken, last4: r.last4, masked: maskPan(r.last4) }, amount: r.amount, merchant: body.merchant,
    decidedAt: r.decidedAt, source: 'issuer',
  };
}

function fromGateway(code: '91' | '96', body: CardAuthorizationBody, now: number): CardAuthorizationResult {
  const last4 = body.card.pan.slice(-4);
  return {
    v: 1, authorizationId: body.authorizationId, responseCode: code, responseText: responseCodes[code], approved: false, approvalCode: null,
    card: { token: null, last4, masked: maskPan(last4) }, amount: body.amount, merchant: body.merchant, decidedAt: now, source: 'gateway',
  };
}
