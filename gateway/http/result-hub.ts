/**
 * Claim 12: the settled result also goes to the phone that sent the settling
 * information. The settlement bridge (results of MQTT settles) and the wallet
 * API (claim 9 settles) publish here; a phone's SSE stream subscribes, and
 * `GET /v1/wallets/{w}/results/{requestId}` reads the recent ones.
 *
 * Everything is bounded: streams per wallet and in all, recent results per
 * wallet, wallets remembered. The hub is memory only; the journal is the
 * durable record (the results route falls back to it given the device id).
 */
import type { SettleResult } from '../../protocol/index.ts';
import { UuidV7 } from '../../protocol/index.ts';

export interface ResultHubLimits {
  /** Open streams per wallet: a phone, a watch, a tablet, and one stale connection not yet noticed. */
  streamsPerWalletMax: number;
  /** Open streams in all: each costs a socket and a few KiB; 10,000 fits one gateway's file-descriptor budget. */
  streamsMax: number;
  /** Recent results kept per wallet, for fetching and for replay after a reconnect (Last-Event-ID). */
  recentPerWalletMax: number;
  /** Wallets whose recent results are kept (least recently published forgotten first): ~32 × 1 KiB each. */
  recentWalletsMax: number;
}

export const defaultResultHubLimits: ResultHubLimits = {
  streamsPerWalletMax: 4,
  streamsMax: 10_000,
  recentPerWalletMax: 32,
  recentWalletsMax: 20_000,
};

/**
 * Where a claim-9 result goes besides the HTTP answer. The bridge engineer
 * implements deliverToDevice (publish, tagged as it is, QoS 1 on
 * `tapsettle/v1/dev/{deviceId}/result`); deliverToWallet is normally
 * `hub.publish` (see hubSink).
 */
export interface ResultSink {
  deliverToDevice(deviceId: string, resultJson: string): Promise<void>;
  deliverToWallet(walletId: string, resultJson: string): void;
}

export const hubSink = (hub: ResultHub, deliverToDevice: ResultSink['deliverToDevice']): ResultSink => ({
  deliverToDevice,
  deliverToWallet: (walletId, resultJson) => hub.publish(walletId, resultJson),
});

/**
 * Declines decided before the wallet was authenticated (a forged or replayed
 * cryptogram, an unknown wallet, a malformed request) say nothing about the
 * wallet named in the request and are not sent to it: otherwise anyone could
 * fill a stranger's result stream. `account-not-active` and `unknown-account`
 * are left out too: they may be about the merchant, decided before the wallet.
 */
const reasonsAfterWalletAuth: ReadonlySet<string> = new Set(['currency-mismatch', 'over-limit', 'not-eligible', 'insufficient-funds']);
export const resultConcernsWallet = (result: Pick<SettleResult, 'status' | 'reason'>): boolean =>
  result.status === 'approved' || (result.reason !== undefined && reasonsAfterWalletAuth.has(result.reason));

export type ResultListener = (resultJson: string, requestId: string) => void;
export type Subscription = { ok: true; unsubscribe: () => void } | { ok: false; limit: 'streamsPerWalletMax' | 'streamsMax' };

interface Recent {
  requestId: string;
  json: string;
}

export class ResultHub {
  readonly limits: ResultHubLimits;
  private readonly listeners = new Map<string, Set<ResultListener>>();
  private readonly recentByWallet = new Map<string, Recent[]>();
  private streamCount = 0;

  constructor(limits: Partial<ResultHubLimits> = {}) {
    this.limits = { ...defaultResultHubLimits, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`ResultHub limit ${name} must be an integer ≥ 1, got ${String(value)}`);
    }
  }

  get streams(): number {
    return this.streamCount;
  }

  /** A settled result for a wallet: kept as recent and sent to the wallet's open streams. Throws on JSON without a requestId (a bug in the caller). */
  publish(walletId: string, resultJson: string): void {
    const requestId = requestIdOf(resultJson);
    let recent = this.recentByWallet.get(walletId);
    if (recent === undefined) {
      recent = [];
      if (this.recentByWallet.size >= this.limits.recentWalletsMax) this.recentByWallet.delete(this.recentByWallet.keys().next().value!);
    } else this.recentByWallet.delete(walletId);
    this.recentByWallet.set(walletId, recent);
    const same = recent.findIndex((r) => r.requestId === requestId);
    if (same >= 0) recent.splice(same, 1);
    recent.push({ requestId, json: resultJson });
    if (recent.length > this.limits.recentPerWalletMax) recent.shift();
    for (const listener of this.listeners.get(walletId) ?? []) {
      try {
        listener(resultJson, requestId);
      } catch {
        // One broken stream must not keep a result from the others; the stream closes itself.
      }
    }
  }

  recent(walletId: string, requestId: string): string | undefined {
    return this.recentByWallet.get(walletId)?.find((r) => r.requestId === requestId)?.json;
  }

  /** Recent results after `lastRequestId` (all recent ones if it is no longer known), oldest first. */
  recentAfter(walletId: string, lastRequestId: string): { requestId: string; json: string }[] {
    const recent = this.recentByWallet.get(walletId) ?? [];
    const at = recent.findIndex((r) => r.requestId === lastRequestId);
    return recent.slice(at + 1).map((r) => ({ ...r }));
  }

  subscribe(walletId: string, listener: ResultListener): Subscription {
    if (this.streamCount >= this.limits.streamsMax) return { ok: false, limit: 'streamsMax' };
    let set = this.listeners.get(walletId);
    if (set !== undefined && set.size >= this.limits.streamsPerWalletMax) return { ok: false, limit: 'streamsPerWalletMax' };
    if (set === undefined) {
      set = new Set();
      this.listeners.set(walletId, set);
    }
    const own = set;
    const entry: ResultListener = (json, id) => listener(json, id);
    own.add(entry);
    this.streamCount += 1;
    let done = false;
    return {
      ok: true,
      unsubscribe: () => {
        if (done) return;
        done = true;
        own.delete(entry);
        this.streamCount -= 1;
        if (own.size === 0 && this.listeners.get(walletId) === own) this.listeners.delete(walletId);
      },
    };
  }
}

function requestIdOf(resultJson: string): string {
  let requestId: unknown;
  try {
    requestId = (JSON.parse(resultJson) as { requestId?: unknown }).requestId;
  } catch {
    throw new TypeError('ResultHub.publish: the result is not JSON');
  }
  const parsed = UuidV7.safeParse(requestId);
  if (!parsed.success) throw new TypeError('ResultHub.publish: the result has no valid requestId');
  return parsed.data;
}
