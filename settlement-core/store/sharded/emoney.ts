/**
 * E-money on the sharded store (claims 34–35; docs/ledger.md §13, "E-money").
 *
 * Where it lives. Every live token row (unspent or spent) and the money of
 * every issuer float are on the e-money server, server 0, beside the
 * registry. One server for all tokens makes a deposit one transaction on
 * one server — the spends, the float's debit and the decision commit
 * together, however many payers' servers the tokens were bought on — and
 * leaves one step between servers, the payout to a holder whose file is
 * elsewhere: a send and a credit, as a settlement's deposit. The float keeps
 * a copy on every server (it is a system account) but the copies elsewhere
 * stay at 0.
 *
 * Issuance. The payer's debit and the decision must commit together (a
 * phone is told "issued" only for money taken), so an issuance whose payer
 * lives on server P ≠ 0 commits on P: the debit as a send toward server 0,
 * the request, and the minted tokens parked — inserted on P and marked spent
 * at once, with the leg's reference as their deposit request, so P's inbox
 * and outstanding never show them. The credit on server 0 (position toward
 * P → float) carries the live tokens and commits with them. The leg is a
 * `mint` leg whose reference names the serials, so recovery rebuilds the
 * credit, tokens included, from P's send and parked rows. float = unspent
 * tokens then holds on every server at every moment: a mint in flight has
 * neither the float's money nor a live token yet.
 *
 * Requests. An issuance request that moved money lives with its parked
 * tokens (on the payer's server); every other request — declines, refusals,
 * deposits, issuances paid on server 0 — on server 0. A request id is
 * looked for on every server before it is inserted.
 *
 * Generic over WriteSet.emoney: a token is placed with the movement into its
 * float that backs it — the one whose journal request id or reference names
 * the token's issue request, else the only movement into that float — and a
 * write set whose tokens cannot be told apart that way is an InvariantError.
 */
import { invariant } from '../../errors.ts';
import type { EmoneyTokenRecord } from '../../model.ts';
import type { EmoneyWrites, WriteSet } from '../ledger-store.ts';
import type { Placement } from './plan.ts';

/** The server of the e-money tokens and requests and of the issuer floats' money. */
export const emoneyServer = 0;

export interface EmoneyPlacement {
  /** Per server, its e-money writes: requests, live or parked tokens, spends. */
  parts: Map<number, EmoneyWrites>;
  /** Transfer index → the live tokens its credit on the e-money server carries (a mint leg). */
  carried: Map<number, EmoneyTokenRecord[]>;
}

/** Where a transfer's money leaves and lands (plan.ts): one server, or a send on `src` and a credit on `dst`. */
export interface Ends {
  src: number;
  dst: number;
}

/** Does transfer `t` pay for token `m`? It names the token's issue request (a settlement's journal key, or an e-money reference). */
function backs(t: WriteSet['transfers'][number], m: EmoneyTokenRecord): boolean {
  if (t.journalRequestId === m.issueRequest) return true;
  return t.reference !== null && (t.reference === m.issueRequest || t.reference.endsWith(`:${m.issueRequest}`));
}

/**
 * Places a write set's e-money writes. `legReference(i, serials)` is the
 * reference of transfer i's leg between servers when it carries these tokens.
 */
export function placeEmoney(p: Placement, ws: WriteSet, ends: readonly Ends[], legReference: (i: number, serials: readonly string[]) => string): EmoneyPlacement {
  const parts = new Map<number, EmoneyWrites>();
  const carried = new Map<number, EmoneyTokenRecord[]>();
  const e = ws.emoney;
  if (!e) return { parts, carried };
  const part = (s: number): EmoneyWrites => {
    let x = parts.get(s);
    if (!x) parts.set(s, (x = { requests: [], mints: [], spends: [] }));
    return x;
  };
  const intoFloat = ws.transfers.flatMap((t, i) => (p.isFloat(t.to) ? [{ t, i, src: ends[i]!.src }] : []));
  const parkedOn = new Map<string, number>(); // issue request → the server its tokens are parked on
  for (const m of e.mints) {
    const candidates = intoFloat.filter((x) => x.t.to === m.token.float);
    const backing = candidates.find((x) => backs(x.t, m)) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (backing === undefined || backing.src === emoneyServer) {
      // No movement in this write set pays for it from another server: the token goes live where its float's money is.
      invariant(backing !== undefined || candidates.every((x) => x.src === emoneyServer), () => `e-money token ${m.token.serial}: ${candidates.length} movements into ${m.token.float}, none names issue request ${m.issueRequest}`);
      part(emoneyServer).mints.push(m);
      continue;
    }
    if (!carried.has(backing.i)) carried.set(backing.i, []);
    carried.get(backing.i)!.push(m);
    const earlier = parkedOn.get(m.issueRequest);
    invariant(earlier === undefined || earlier === backing.src, () => `issue request ${m.issueRequest} has tokens paid on servers ${earlier} and ${backing.src}`);
    parkedOn.set(m.issueRequest, backing.src);
  }
  for (const [i, tokens] of carried) {
    const reference = legReference(i, tokens.map((m) => m.token.serial));
    const at = ws.transfers[i]!.at;
    const parked = part(ends[i]!.src);
    for (const m of tokens) {
      parked.mints.push(m);
      parked.spends.push({ serial: m.token.serial, depositRequest: reference, spentAt: at });
    }
  }
  for (const r of e.requests) part(parkedOn.get(r.requestId) ?? emoneyServer).requests.push(r);
  for (const x of e.spends) part(emoneyServer).spends.push(x);
  return { parts, carried };
}
