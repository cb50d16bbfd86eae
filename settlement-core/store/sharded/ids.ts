/**
 * How the sharded store names what it adds to the ledger: global ids for
 * transfers and journal entries (a server's own id, with the server index in
 * the low digits), the inter-server clearing position accounts, and the
 * references that pair the two legs of a movement between servers.
 */
import { formatAccountId, parseAccountId } from '../../../protocol/index.ts';
import { invariant } from '../../errors.ts';

/**
 * Servers a directory may name. Global ids are `local × serversMax + index`,
 * so they stay stable when servers are added; 64 leaves 2^53 / 64 ≈ 1.4 × 10^14
 * local ids per server, and keeps the two-digit peer in a position account's number.
 */
export const serversMax = 64;

export const globalId = (local: number, server: number): number => local * serversMax + server;
export const splitGlobalId = (id: number): { local: number; server: number } => ({ local: Math.floor(id / serversMax), server: id % serversMax });
/** The largest local id whose global id on `server` is below `globalBefore` (exclusive bound for a server's own query). */
export const localBefore = (globalBefore: number, server: number): number => Math.floor((globalBefore - server - 1) / serversMax) + 1;
/** The local id after which a server's ids exceed `globalAfter`. */
export const localAfter = (globalAfter: number, server: number): number => Math.floor((globalAfter - server) / serversMax);

/**
 * Inter-server clearing positions live on branch 000 from this number up:
 * `000-9PPCCCC` on server S is S's position toward peer PP for the currency
 * whose clearing account is `000-000CCCC`. The engine never sees them.
 */
const positionBase = 9_000_000;

export function positionAccountId(peer: number, clearingId: string): string {
  const c = parseAccountId(clearingId);
  invariant(c !== null && c.branch === 0 && c.number < 10_000, () => `clearing account ${clearingId} cannot name positions`);
  invariant(Number.isInteger(peer) && peer >= 0 && peer < serversMax, () => `peer ${peer} out of range`);
  return formatAccountId(0, positionBase + peer * 10_000 + c.number);
}

export function isPositionAccount(id: string): boolean {
  const p = parseAccountId(id);
  return p !== null && p.branch === 0 && p.number >= positionBase;
}

/** A system account the engine knows (funding, clearing, fees, float): one copy on every server. */
export function isSystemAccount(id: string): boolean {
  const p = parseAccountId(id);
  return p !== null && p.branch === 0 && p.number < positionBase;
}

/** The clearing account a position account belongs to. */
export function clearingOfPosition(id: string): string {
  const p = parseAccountId(id);
  invariant(p !== null && p.number >= positionBase, () => `${id} is not a position account`);
  return formatAccountId(0, (p.number - positionBase) % 10_000);
}

/**
 * References of the two legs of a movement between servers. Both legs carry
 * the same reference, so the receiving leg is idempotent (the transfers'
 * reference column is unique) and the audit pairs them. Every such reference
 * is longer than 64 characters, the most an operator's funding reference may
 * have, so the two can never collide.
 */
const legPrefix = 'tapsettle-sharded-leg-between-servers/';
/**
 * `deposit`: money for an account on another server (a settlement's deposit, an e-money deposit's payout,
 * any transfer between two servers); `integrate`: a hot account's auxiliary into its main file; `mint`: money
 * into the issuer float on the e-money server that carries the e-money tokens it backs (emoney.ts); `move`: an
 * account's balance from its old file to its new one (move.ts), its credit one millisecond after its send so a
 * statement merging the two files reads them in order.
 */
export type LegKind = 'deposit' | 'integrate' | 'mint' | 'move';
const legKinds: readonly string[] = ['deposit', 'integrate', 'mint', 'move'];

export function legReference(kind: LegKind, target: string, unique: string): string {
  return `${legPrefix}${kind}/${target}/${unique}`;
}

export function parseLegReference(reference: string | null): { kind: LegKind; target: string; unique: string } | null {
  if (reference === null || !reference.startsWith(legPrefix)) return null;
  const [kind, target, ...rest] = reference.slice(legPrefix.length).split('/');
  if (kind === undefined || !legKinds.includes(kind) || target === undefined || rest.length === 0) return null;
  return { kind: kind as LegKind, target, unique: rest.join('/') };
}

/** A mint leg's unique part: the serials of the tokens it carries (UUIDv7: no `,` or `/`), then what makes the movement unique. */
export const mintLegUnique = (serials: readonly string[], unique: string): string => `${serials.join(',')}/${unique}`;

/** The serials a mint leg carries, or null for another leg. */
export function mintLegSerials(reference: string | null): string[] | null {
  const leg = parseLegReference(reference);
  if (leg?.kind !== 'mint') return null;
  return leg.unique.slice(0, leg.unique.indexOf('/')).split(',');
}
