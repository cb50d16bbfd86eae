/**
 * Statements over servers. A user account on one server: that server's
 * statement, with global transfer ids. An account with a file on every
 * server (a hot account's main file and auxiliaries, claim 23; a system
 * account's copies): the files' lines merged newest first by time (ties:
 * higher server first, then higher id), each line's balance after being the
 * sum over the files of each file's balance at that point.
 *
 * Within one server a later transfer never has an earlier time (the core's
 * clock moves forward); the merge relies on it.
 */
import type { StatementLine } from '../../model.ts';
import type { LedgerStore, StatementQuery } from '../ledger-store.ts';
import { clearingOfPosition, globalId, isPositionAccount, localBefore, splitGlobalId } from './ids.ts';

const farFuture = Number.MAX_SAFE_INTEGER;

/** The currency's issuer float (an e-money movement's counterparty), if there is one. */
export type FloatOf = (currency: string) => string | undefined;

/**
 * Global ids; on a user's statement a position counterparty is shown as the
 * account the engine named: the currency's issuer float for an e-money
 * movement, else its clearing account.
 */
function presentLine(l: StatementLine, server: number, floatOf: FloatOf | null): StatementLine {
  let counterparty = l.counterparty;
  if (floatOf !== null && isPositionAccount(counterparty)) {
    const float = l.kind === 'emoney-issue' || l.kind === 'emoney-deposit' ? floatOf(l.currency) : undefined;
    counterparty = float ?? clearingOfPosition(counterparty);
  }
  return { ...l, transferId: globalId(l.transferId, server), counterparty };
}

export async function singleFileStatement(store: LedgerStore, server: number, accountId: string, q: StatementQuery, floatOf: FloatOf): Promise<StatementLine[]> {
  const before = q.beforeTransferId === undefined ? undefined : localBefore(q.beforeTransferId, server);
  const lines = await store.statement(accountId, { ...q, ...(before !== undefined ? { beforeTransferId: before } : {}) });
  return lines.map((l) => presentLine(l, server, floatOf));
}

interface Cursor {
  at: number;
  server: number;
  local: number;
}

async function cursorOf(servers: readonly LedgerStore[], accountId: string, before: number | undefined): Promise<Cursor | null> {
  if (before === undefined) return null;
  const { local, server } = splitGlobalId(before);
  if (server >= servers.length) return null;
  const [line] = await servers[server]!.statement(accountId, { beforeTransferId: local + 1, limit: 1 });
  return line && line.transferId === local ? { at: line.at, server, local } : { at: farFuture, server, local };
}

/** Each file's lines older than the cursor, newest first, and the file's balance before its oldest line returned. */
async function fileLines(store: LedgerStore, server: number, accountId: string, q: StatementQuery, c: Cursor | null) {
  let toMs = q.toMs ?? farFuture;
  let beforeId: number | undefined;
  if (c !== null) {
    // Same time as the cursor: lower servers are older, higher ones newer; on the cursor's server, lower ids are older.
    toMs = Math.min(toMs, server > c.server ? c.at : c.at + 1);
    if (server === c.server) beforeId = c.local;
  }
  const lines = await store.statement(accountId, { toMs, limit: q.limit + 1, ...(q.fromMs !== undefined ? { fromMs: q.fromMs } : {}), ...(beforeId !== undefined ? { beforeTransferId: beforeId } : {}) });
  let baseline = 0;
  if (lines.length <= q.limit && q.fromMs !== undefined) {
    const [earlier] = await store.statement(accountId, { toMs: q.fromMs, limit: 1 });
    baseline = earlier?.balanceAfter ?? 0;
  }
  return { lines, baseline };
}

/**
 * `floatOf` is null for a system account's statement: its position
 * counterparties are shown as they are. `on`: the servers holding a file of
 * the account (default every server; a moved account's home and former ones).
 */
export async function mergedStatement(servers: readonly LedgerStore[], accountId: string, q: StatementQuery, floatOf: FloatOf | null, on?: readonly number[]): Promise<StatementLine[]> {
  const c = await cursorOf(servers, accountId, q.beforeTransferId);
  const none = { lines: [] as StatementLine[], baseline: 0 };
  const files = await Promise.all(servers.map((s, i) => (on === undefined || on.includes(i) ? fileLines(s, i, accountId, q, c) : Promise.resolve(none))));
  const heads = files.map(() => 0);
  const out: StatementLine[] = [];
  while (out.length < q.limit) {
    let pick = -1;
    for (let s = 0; s < files.length; s += 1) {
      const l = files[s]!.lines[heads[s]!];
      if (l === undefined) continue;
      const best = pick < 0 ? undefined : files[pick]!.lines[heads[pick]!]!;
      if (best === undefined || l.at > best.at || (l.at === best.at && s > pick)) pick = s;
    }
    if (pick < 0) break;
    const line = files[pick]!.lines[heads[pick]!]!;
    heads[pick]! += 1;
    // Every other file's balance at this point: after its newest line older than this one.
    let total = line.balanceAfter;
    for (let s = 0; s < files.length; s += 1) {
      if (s === pick) continue;
      total += files[s]!.lines[heads[s]!]?.balanceAfter ?? files[s]!.baseline;
    }
    out.push({ ...presentLine(line, pick, floatOf), balanceAfter: total });
  }
  return out;
}
