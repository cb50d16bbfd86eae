/**
 * What the simulated phone does with the wallet API (claims 9 and 12): sends
 * the settling information the applet built (AUTHORIZE PURCHASE, PHONE
 * SETTLES) and keeps the results that reach the phone — the answer to its own
 * settle, and every result on the wallet's result stream, whoever settled.
 * Bounded: the newest `phoneResultsKeptMax` of each are kept.
 */
import type { SettleRequest, SettleResult } from '../../protocol/index.ts';
import type { ResultStream, WalletApiClient } from './wallet-api-client.ts';

/** Results and sends kept for scenarios and tests to inspect: a day of purchases; older ones are in the statement. */
export const phoneResultsKeptMax = 64;

export type ReceivedResult = { result: SettleResult; via: 'settle-answer' | 'stream' };
export type SentSettle = { request: SettleRequest; result?: SettleResult; error?: string };

const keep = <T>(list: T[], item: T): void => {
  list.push(item);
  if (list.length > phoneResultsKeptMax) list.shift();
};

export class PhoneResults {
  readonly received: ReceivedResult[] = [];
  readonly sent: SentSettle[] = [];
  private stream: ResultStream | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly client: WalletApiClient | null) {}

  get canSettle(): boolean {
    return this.client !== null;
  }

  /** Claim 9: sends the request in the background; its answer (or coded error) is recorded. */
  send(request: SettleRequest): void {
    const client = this.client;
    if (client === null) return;
    const entry: SentSettle = { request };
    keep(this.sent, entry);
    const done = client.settle(request).then(
      (result) => {
        entry.result = result;
        keep(this.received, { result, via: 'settle-answer' });
      },
      (err: unknown) => {
        entry.error = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Claim 12: opens the wallet's result stream (once). */
  async watch(): Promise<void> {
    if (this.client === null || this.stream !== null) return;
    this.stream = await this.client.streamResults((result) => keep(this.received, { result, via: 'stream' }));
  }

  /** The results that reached the phone for one request, by every way they came. */
  resultsFor(requestId: string): ReceivedResult[] {
    return this.received.filter((r) => r.result.requestId === requestId);
  }

  /** Stops the stream and waits for sends in flight (each bounded by the client's timeout). */
  async close(): Promise<void> {
    this.stream?.close();
    await this.stream?.ended;
    this.stream = null;
    await Promise.all([...this.inFlight]);
  }
}
