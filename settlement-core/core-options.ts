/**
 * The settlement core's options, limits and counters (core.ts is the core
 * itself): what an embedder — the gateway, the CLI, a test — configures.
 */
import type { InvariantError } from './errors.ts';
import type { TicketIssuer } from './engine/tickets.ts';
import { defaultReadCacheLimits } from './engine/read-cache.ts';
import type { ReadCacheLimits } from './engine/read-cache.ts';
import type { IssuerPublicKey } from './emoney/index.ts';
import { defaultGroupCommitLimits } from './group-commit.ts';
import type { GroupCommitLimits } from './group-commit.ts';
import type { LedgerStore } from './store/ledger-store.ts';

export interface CoreLimits extends GroupCommitLimits, ReadCacheLimits {
  /** Largest single purchase the core will settle, minor units; above it: `over-limit`. */
  amountMinorMaxPerSettle: number;
  /** How often the scheduler looks for due entries (deposits, cooling-off ends, outcome deadlines), ms. */
  duePollMs: number;
  /** Due entries taken per look. */
  dueBatchMax: number;
  /** Derived wallet keys kept in memory (~150 bytes each): 200,000 is ~30 MiB and covers a city's active wallets. */
  walletKeyCacheMax: number;
}

export const defaultCoreLimits: CoreLimits = {
  ...defaultGroupCommitLimits,
  ...defaultReadCacheLimits,
  amountMinorMaxPerSettle: 50_000,
  duePollMs: 1000,
  dueBatchMax: 5000,
  walletKeyCacheMax: 200_000,
};

export interface CoreOptions {
  store: LedgerStore;
  /** Issuer master key (≥ 32 bytes): wallet keys derive from it. */
  issuerMasterKey: Uint8Array;
  /**
   * The key a device verifies its results with. Called for every answer: the
   * provider caches (it knows when a device is re-keyed; the core does not).
   */
  deviceKey: (deviceId: string) => Uint8Array;
  /**
   * Claims 15–16: the issuer's Ed25519 key; an approved request carrying a
   * TicketSpec gets a ticket signed with it. Without one, such requests are
   * declined `ticket-unavailable`. E-money tokens (claims 34–35) are signed
   * with the same issuer key; without it issuance is declined `emoney-unavailable`.
   */
  ticketIssuer?: TicketIssuer;
  /**
   * Public keys of issuer keys rotated out (verification only, at most
   * retiredIssuerKeysMax): e-money tokens they signed are still deposited.
   */
  retiredIssuerKeys?: readonly IssuerPublicKey[];
  clock?: () => number;
  limits?: Partial<CoreLimits>;
  /** Start the due-entry scheduler (default true). Tests turn it off and call runDue(). */
  scheduler?: boolean;
  /** Called after each committed batch: how many commands it held and how long its transaction took. */
  onBatch?: (info: { size: number; transactionMs: number }) => void;
  /** Called once if an invariant breaks; the core refuses all work afterwards. Default: rethrow (crash). */
  onFatal?: (err: InvariantError) => void;
}

export type WalletRequestRefusal = 'unknown-wallet' | 'wallet-not-active' | 'bad-cryptogram' | 'counter-reused';

export interface CoreStats {
  batches: number;
  batchSizeLast: number;
  settled: number;
  replays: number;
  advanceDropped: number;
}
