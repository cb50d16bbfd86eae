/**
 * Carries every recorded card reversal (reversal-log.ts) to `done`: first
 * the ledger (core.reverseCardSale: the captured money goes back from the
 * merchant to card receivable, once; recorded even when nothing was
 * captured, so a capture arriving later is refused), then the issuer
 * (POST /v1/reversals: an approved authorization's hold on open-to-buy is
 * released, once). Both are idempotent by authorization id, so an attempt cut
 * short (issuer down, the merchant's balance short, a crash) is simply made
 * again — at `retryMs`, and after a restart by the poll, which also starts
 * the gateway's own timeout reversals once their grace period is over.
 */
import type { CardLedgerAnswer, CardSaleCapture, CardSaleReversal } from '../../settlement-core/cards/index.ts';
import { scrubDigits } from '../../settlement-core/cards/index.ts';
import type { CardAuthorizationLog, LogEntry } from './authorization-log.ts';
import type { IssuerClient } from './issuer-client.ts';
import type { ReversalReason, ReversalRow } from './reversal-log.ts';
import type { CardReversalResult } from './schemas.ts';

/** What the processor needs of the ledger: the core's card-sale calls (settlement-core/cards/ledger.ts). */
export interface CardLedger {
  captureCardSale(input: CardSaleCapture): Promise<CardLedgerAnswer>;
  reverseCardSale(input: CardSaleReversal): Promise<CardLedgerAnswer>;
}

export interface ReversalLimits {
  /**
   * After a 91, a garbled answer or a failed capture, how long a resend of the
   * same id may still be decided for real before the gateway reverses it: a
   * phone or till retries within seconds; a minute covers a slow one.
   */
  timeoutGraceMs: number;
  /** How often the driver looks for reversals that are due: a reversal waits at most this long past its time. */
  pollMs: number;
  /** Reversals worked on per look, one after another (each is a ledger transaction and an issuer call within its deadline). */
  batchMax: number;
  /** A failed attempt (issuer down, the merchant's balance short) is made again after this long. */
  retryMs: number;
}

export const defaultReversalLimits: ReversalLimits = { timeoutGraceMs: 60_000, pollMs: 1_000, batchMax: 32, retryMs: 5_000 };

/** The ledger and the issuer know the first four reasons; a refused capture goes to the issuer as the operator's (the ledger moved nothing). */
const wireReason = (r: ReversalReason): CardSaleReversal['reason'] => (r === 'capture-refused' ? 'operator' : r);

export interface DriverLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The answer a reversal gets, from its record and its authorization's. */
export function reversalView(row: ReversalRow, auth: LogEntry | null): CardReversalResult {
  const status = row.state !== 'done' ? 'pending' : row.ledgerStatus === 'reversed' ? 'reversed' : 'not-captured';
  return {
    v: 1, authorizationId: row.authorizationId, status, reason: row.reason,
    amount: auth === null ? null : { minor: auth.amountMinor, currency: auth.currency },
    requestedAt: row.requestedAt, reversedAt: row.state === 'done' ? row.finishedAt : null,
  };
}

/** The issuer holds nothing for this id: it was never asked (the reversal came first), or it declined for good. */
const issuerHoldsNothing = (auth: LogEntry | null): boolean => auth === null || (auth.final && auth.source === 'issuer' && auth.responseCode !== '00');

export class ReversalDriver {
  readonly limits: ReversalLimits;
  private readonly running = new Map<string, Promise<ReversalRow | null>>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly log: CardAuthorizationLog,
    private readonly client: IssuerClient,
    private readonly ledger: CardLedger,
    limits: Partial<ReversalLimits>,
    private readonly clock: () => number,
    private readonly logger: DriverLogger | undefined,
  ) {
    this.limits = { ...defaultReversalLimits, ...limits };
    for (const [name, value] of Object.entries(this.limits)) if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`reversal limit ${name} must be an integer ≥ 1, got ${String(value)}`);
  }

  start(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => void this.poll(), this.limits.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for the reversals being worked on (each bounded by the issuer client's deadline). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
    await Promise.all(this.running.values());
  }

  /** One look for due reversals; at most one look at a time. Resolves how many were worked on. */
  poll(): Promise<number> {
    if (this.polling !== null) return this.polling;
    // Cleared in a later microtask, never before it is set (a look that finds nothing completes synchronously).
    const run = this.pollOnce().finally(() => {
      if (this.polling === run) this.polling = null;
    });
    this.polling = run;
    return run;
  }

  private async pollOnce(): Promise<number> {
    try {
      if (this.stopped) return 0;
      const ids = this.log.reversals.claimDue(this.clock(), this.limits.batchMax);
      for (const id of ids) await this.drive(id);
      return ids.length;
    } catch (err) {
      this.logger?.warn({ err: errorText(err) }, 'card reversal poll failed; next poll tries again');
      return 0;
    }
  }

  /** Works on one `pending` reversal now; one attempt at a time per id. Resolves its record afterwards. */
  drive(authorizationId: string): Promise<ReversalRow | null> {
    let run = this.running.get(authorizationId);
    if (run === undefined) {
      run = this.attempt(authorizationId).finally(() => this.running.delete(authorizationId));
      this.running.set(authorizationId, run);
    }
    return run;
  }

  private async attempt(id: string): Promise<ReversalRow | null> {
    const row = this.log.reversals.get(id);
    if (row === null || row.state !== 'pending' || this.stopped) return row;
    const auth = this.log.get(id);
    try {
      if (row.ledgerStatus === null && !(await this.ledgerPart(row))) return this.log.reversals.get(id);
      if (row.issuerStatus === null && !(await this.issuerPart(row, auth))) return this.log.reversals.get(id);
      const done = this.log.reversals.get(id);
      if (done === null) return null;
      const finished = this.log.reversals.finish(id, JSON.stringify(reversalView({ ...done, state: 'done', finishedAt: this.clock() }, auth)));
      this.logger?.info({ authorizationId: id, reason: finished.reason, ledger: finished.ledgerStatus, issuer: finished.issuerStatus, attempts: finished.attempts }, 'card reversal done');
      return finished;
    } catch (err) {
      this.retry(id, `unexpected: ${errorText(err)}`);
      return this.log.reversals.get(id);
    }
  }

  /** True once the ledger has recorded it; false (to be tried again) when it refused. */
  private async ledgerPart(row: ReversalRow): Promise<boolean> {
    const answer = await this.ledger.reverseCardSale({ authorizationId: row.authorizationId, reason: wireReason(row.reason) });
    if (answer.status === 'reversed' || answer.status === 'not-captured') {
      this.log.reversals.recordLedger(row.authorizationId, answer.status);
      return true;
    }
    this.retry(row.authorizationId, `ledger refused: ${answer.reason ?? answer.status}`);
    return false;
  }

  /** True once the issuer answered (or holds nothing); false (to be tried again) when it could not be reached or talked nonsense. */
  private async issuerPart(row: ReversalRow, auth: LogEntry | null): Promise<boolean> {
    if (auth === null || issuerHoldsNothing(auth)) {
      this.log.reversals.recordIssuer(row.authorizationId, 'skipped');
      return true;
    }
    const answer = await this.client.reverse({ v: 1, authorizationId: row.authorizationId, amount: { minor: auth.amountMinor, currency: auth.currency }, reason: wireReason(row.reason) });
    switch (answer.kind) {
      case 'answer':
        this.log.reversals.recordIssuer(row.authorizationId, answer.response.status);
        return true;
      case 'mismatch':
        // The issuer holds a reversal of this id with other content: whatever it was, the hold is gone.
        this.logger?.warn({ authorizationId: row.authorizationId }, 'the issuer already holds another reversal of this authorization; taken as reversed');
        this.log.reversals.recordIssuer(row.authorizationId, 'reversed');
        return true;
      case 'amount-mismatch':
        this.retry(row.authorizationId, 'the issuer refused the amount');
        return false;
      case 'busy':
        this.retry(row.authorizationId, 'issuer client busy');
        return false;
      case 'unavailable':
      case 'garbled':
        this.retry(row.authorizationId, `issuer ${answer.kind}: ${answer.why}`);
        return false;
    }
  }

  private retry(id: string, why: string): void {
    this.log.reversals.retryLater(id, this.clock() + this.limits.retryMs, why);
    this.logger?.warn({ authorizationId: id, why, retryInMs: this.limits.retryMs }, 'card reversal not complete; tried again later');
  }
}

const errorText = (err: unknown): string => scrubDigits(err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err)).slice(0, 200);
