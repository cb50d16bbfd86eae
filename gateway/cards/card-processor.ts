/**
 * The card processing apparatus (claim 36): takes card information from a
 * phone (through the wallet API) or from a device that read it off the
 * phone with GET CARD (over MQTT, gateway/bridge/card-bridge.ts), records
 * the request, asks the card authentication apparatus (the issuer host),
 * and on approval captures the sale into the ledger before anyone hears
 * "approved". Reversals (asked for, or the gateway's own after an answer
 * that decided nothing for sure) undo it in the ledger and at the issuer.
 *
 *   00 and captured             → approved (final)
 *   00, capture refused         → 96 `capture-refused` (final); the issuer's hold is released
 *   00, a reversal came first   → 96 `reversed` (final); the hold is released
 *   any other issuer code       → that code (final)
 *   no answer / garbled / the capture failed
 *                               → 91 / 96 (not final); a timeout reversal is due after
 *                                 `timeoutGraceMs` unless a resend of the same id comes first
 *
 * Card data is used to build the issuer request and dropped: it is never
 * logged (the logger is given ids, token and last four only, and redacts
 * card fields besides), never put in a metric, never stored.
 */
import { isRetryable } from '../../settlement-core/cards/index.ts';
import type { AuthorizationRequest, ResponseCode } from '../../settlement-core/cards/index.ts';
import { cardRedactPaths, issuerWireVersion } from '../../settlement-core/cards/index.ts';
import { canonicalRequest } from '../../settlement-core/cards/wire.ts';
import { invariant } from '../../settlement-core/errors.ts';
import { CardAuthorizationLog, principalKey } from './authorization-log.ts';
import type { Principal } from './authorization-log.ts';
import { fromGateway, fromIssuer, readBack } from './card-results.ts';
import { IssuerClient } from './issuer-client.ts';
import type { IssuerClientLimits } from './issuer-client.ts';
import { ReversalDriver, reversalView } from './reversal-driver.ts';
import type { CardLedger, ReversalLimits } from './reversal-driver.ts';
import type { ReversalReason } from './reversal-log.ts';
import { CardReversalResult } from './schemas.ts';
import type { CardAuthorizationBody, CardAuthorizationResult } from './schemas.ts';

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
  /** Where approved sales are captured and reversed ones undone: the settlement core. */
  ledger: CardLedger;
  clientLimits?: Partial<IssuerClientLimits>;
  reversalLimits?: Partial<ReversalLimits>;
  clock?: () => number;
  logger?: CardLogger;
  /** Called once per answered authorization: response code and source only (for a metric). */
  observe?: (code: ResponseCode, source: 'issuer' | 'gateway', seconds: number) => void;
}

export type ProcessorReply =
  | { kind: 'result'; json: string; result: CardAuthorizationResult }
  | { kind: 'mismatch' }
  | { kind: 'busy' };

type Capture = { status: 'captured' | 'refused'; reason: string | null };

export type ReversalReply =
  | { kind: 'reversal'; json: string; result: CardReversalResult; final: boolean }
  | { kind: 'mismatch' };

export class CardProcessor {
  readonly client: IssuerClient;
  readonly log: CardAuthorizationLog;
  readonly reversals: ReversalDriver;
  private readonly ledger: CardLedger;
  private readonly clock: () => number;
  private readonly logger: CardLogger | undefined;
  private readonly observe: CardProcessorOptions['observe'];
  /** Authorizations being decided, by id: a second delivery waits for the first instead of asking the issuer twice. Bounded by the issuer client's slots and waiting line. */
  private readonly deciding = new Map<string, Promise<ProcessorReply>>();

  constructor(options: CardProcessorOptions) {
    this.client = new IssuerClient({ url: options.issuerUrl, acquirerToken: options.acquirerToken, ...(options.clientLimits ? { limits: options.clientLimits } : {}) });
    this.clock = options.clock ?? Date.now;
    this.ledger = options.ledger;
    this.log = new CardAuthorizationLog({ path: options.logPath, fingerprintKey: options.fingerprintKey, clock: this.clock });
    const base = options.logger;
    this.logger = base?.child ? base.child({ component: 'card-processing' }, { redact: { paths: cardRedactPaths, censor: '[card data]' } }) : base;
    this.observe = options.observe;
    this.reversals = new ReversalDriver(this.log, this.client, this.ledger, options.reversalLimits ?? {}, this.clock, this.logger);
    this.reversals.start();
  }

  /** Decides one authorization for `principal`; a resend of the same id with the same content gets the same answer. */
  async authorize(principal: Principal, body: CardAuthorizationBody): Promise<ProcessorReply> {
    const earlier = this.deciding.get(body.authorizationId);
    if (earlier !== undefined) await earlier.catch(() => undefined);
    const run = this.decide(principal, body);
    this.deciding.set(body.authorizationId, run);
    try {
      return await run;
    } finally {
      if (this.deciding.get(body.authorizationId) === run) this.deciding.delete(body.authorizationId);
    }
  }

  private async decide(principal: Principal, body: CardAuthorizationBody): Promise<ProcessorReply> {
    const started = performance.now();
    const who = principalKey(principal);
    const req: AuthorizationRequest = {
      v: issuerWireVersion, authorizationId: body.authorizationId, card: body.card, ...(body.pin !== undefined ? { pin: body.pin } : {}),
      amount: body.amount, merchant: body.merchant, mcc: body.mcc,
    };
    const last4 = body.card.pan.slice(-4);
    const begun = this.log.begin({
      authorizationId: req.authorizationId, principal: who, canonical: canonicalRequest(req), last4,
      amountMinor: req.amount.minor, currency: req.amount.currency, merchant: req.merchant, mcc: req.mcc,
    });
    if (begun.kind === 'mismatch') return { kind: 'mismatch' };
    if (begun.kind === 'final') return { kind: 'result', json: begun.json, result: readBack(begun.json, body.authorizationId) };
    let result: CardAuthorizationResult;
    let capture: Capture | undefined;
    let why: string | undefined;
    if (begun.kind === 'reversed') {
      result = fromGateway('96', 'reversed', body, this.clock());
    } else {
      const answer = await this.client.authorize(req);
      if (answer.kind === 'busy') return { kind: 'busy' };
      if (answer.kind === 'mismatch') return { kind: 'mismatch' };
      if (answer.kind === 'answer' && answer.response.approved) ({ result, capture } = await this.capture(who, fromIssuer(answer.response, body), body));
      else if (answer.kind === 'answer') result = fromIssuer(answer.response, body);
      else {
        result = fromGateway(answer.kind === 'unavailable' ? '91' : '96', answer.kind === 'unavailable' ? 'issuer-unavailable' : 'issuer-garbled', body, this.clock());
        why = answer.why;
      }
    }
    const json = JSON.stringify(result);
    const final = result.gatewayReason === 'reversed' || result.gatewayReason === 'capture-refused' || (result.source === 'issuer' && !isRetryable(result.responseCode));
    this.log.finish({ authorizationId: result.authorizationId, responseCode: result.responseCode, cardToken: result.card.token, source: result.source, final, json, ...(capture ? { capture } : {}) });
    // Nothing was decided for sure: unless the same id is sent again within the grace period, it is reversed.
    if (!final && result.source === 'gateway') this.log.reversals.scheduleTimeout(result.authorizationId, who, this.clock() + this.reversals.limits.timeoutGraceMs);
    const seconds = (performance.now() - started) / 1000;
    this.observe?.(result.responseCode, result.source, seconds);
    const fields = { authorizationId: result.authorizationId, principal: principal.kind, cardToken: result.card.token, last4, responseCode: result.responseCode, source: result.source, gatewayReason: result.gatewayReason, ms: Math.round(seconds * 1000) };
    if (result.source === 'issuer') this.logger?.info(fields, 'card authorization');
    else this.logger?.warn({ ...fields, ...(why !== undefined ? { why } : {}) }, `card authorization answered ${result.responseCode} by the gateway`);
    return { kind: 'result', json, result };
  }

  /**
   * An approval becomes money in the ledger before anyone hears it. A refused
   * capture (the merchant unknown, frozen, in another currency; or a reversal
   * recorded first) is answered 96, final, and the issuer's hold released; a
   * capture that failed (the core down or overloaded) is 96, not final.
   */
  private async capture(who: string, approved: CardAuthorizationResult, body: CardAuthorizationBody): Promise<{ result: CardAuthorizationResult; capture?: Capture }> {
    invariant(approved.approvalCode !== null, 'an approval carries its approval code');
    let answer: Awaited<ReturnType<CardLedger['captureCardSale']>>;
    try {
      answer = await this.ledger.captureCardSale({
        authorizationId: approved.authorizationId, merchant: body.merchant, amount: body.amount, cardToken: approved.card.token, last4: approved.card.last4, approvalCode: approved.approvalCode,
      });
    } catch (err) {
      this.logger?.warn({ authorizationId: approved.authorizationId, err: (err as { code?: string }).code ?? (err as Error).name }, 'card capture failed; answered 96, the same id may be sent again');
      return { result: fromGateway('96', 'capture-failed', body, this.clock()) };
    }
    if (answer.status === 'captured') return { result: approved, capture: { status: 'captured', reason: null } };
    this.logger?.warn({ authorizationId: approved.authorizationId, ledger: answer.status, reason: answer.reason }, 'the ledger refused the card capture; the issuer hold is released');
    this.log.reversals.releaseHold(approved.authorizationId, who);
    await this.reversals.drive(approved.authorizationId);
    const result = fromGateway('96', answer.reason === 'already-reversed' ? 'reversed' : 'capture-refused', body, this.clock());
    return { result, capture: { status: 'refused', reason: answer.reason ?? answer.status } };
  }

  /**
   * Undoes `authorizationId` for the principal that made it (or, when none has
   * come yet, that will): recorded durably first, then done in the ledger and
   * at the issuer. `final` is false while a part could not be done yet (the
   * gateway keeps at it). `strictReason`: another reason from the same
   * principal is a mismatch (the wallet API); a device gets the recorded reversal.
   */
  async reverse(principal: Principal, authorizationId: string, reason: ReversalReason, strictReason: boolean): Promise<ReversalReply> {
    const recorded = this.log.reversals.request(authorizationId, principalKey(principal), reason, strictReason);
    if (recorded.kind === 'mismatch') return { kind: 'mismatch' };
    if (recorded.row.state === 'done' && recorded.row.answerJson !== null) return this.storedReversal(recorded.row.answerJson, authorizationId);
    const row = await this.reversals.drive(authorizationId);
    invariant(row !== null, 'a recorded reversal reads back');
    if (row.state === 'done' && row.answerJson !== null) return this.storedReversal(row.answerJson, authorizationId);
    const result = reversalView(row, this.log.get(authorizationId));
    this.logger?.info({ authorizationId, principal: principal.kind, reason: row.reason, state: row.state }, 'card reversal recorded, not complete yet');
    return { kind: 'reversal', json: JSON.stringify(result), result, final: false };
  }

  private storedReversal(json: string, authorizationId: string): ReversalReply {
    const parsed = CardReversalResult.safeParse(JSON.parse(json));
    invariant(parsed.success && parsed.data.authorizationId === authorizationId, 'a stored card reversal answer reads back as one, for its own id');
    return { kind: 'reversal', json, result: parsed.data, final: true };
  }

  async close(): Promise<void> {
    await this.reversals.stop();
    await Promise.all([...this.deciding.values()].map((p) => p.catch(() => undefined)));
    this.log.close();
  }
}
