/**
 * Moving an account that has data to another server (an operator's
 * command, `moveAccount(store, id, toServer)`; docs/ledger.md §13).
 *
 * 1. Everything owed between servers is delivered first (a credit toward
 *    the old file lands where its send named it).
 * 2. The new file is created on the target server: same id, kind, status,
 *    attributes, floor, balance 0.
 * 3. The directory changes — the target becomes the account's server, the
 *    old one is recorded as keeping a former file — and from then on every
 *    write for the account goes to the new file.
 * 4. The old file's balance moves as a send and a credit between the two
 *    servers (a `move` leg, the same idempotent legs and recovery as a
 *    deposit between servers); the old file stays, balance 0, with its
 *    history: the statement merges the files, the journal entries stay
 *    where they are (found by key on every server), counters are looked
 *    for on the former servers too.
 *
 * Each step is idempotent and a start finishes a move cut by a crash:
 * `migrate()` creates a missing new file before recovery delivers credits,
 * and moves what a former file still holds after it. A hot account (a file
 * on every server) and a system account are not moved.
 */
import { uuidv7 } from '../../../protocol/index.ts';
import { invariant } from '../../errors.ts';
import type { Account, NewTransfer } from '../../model.ts';
import { ShardedStoreError } from './errors.ts';
import { legReference, positionAccountId } from './ids.ts';
import { copyOf } from './logical.ts';
import type { Credit } from './plan.ts';
import type { ShardedLedgerStore } from './sharded-store.ts';
import type { Unit } from './unit.ts';

export interface MoveResult {
  account: string;
  from: number;
  to: number;
  /** The balance moved (0 if the account was already there). */
  amount: number;
}

const refuse = (message: string) => new ShardedStoreError('TS_ERR_ACCOUNT_MOVE', message);

/** Moves an account with its balance to server `to`; its history stays readable. Idempotent: moving it where it is does nothing. */
export function moveAccount(store: ShardedLedgerStore, accountId: string, to: number, clock: () => number = Date.now): Promise<MoveResult> {
  const d = store.directory;
  return store.exclusive(async () => {
    const from = d.serverFor(accountId);
    if (from === null) throw refuse(`${JSON.stringify(accountId)} is not a user account id: system accounts are on every server`);
    if (d.isHot(accountId)) throw refuse(`${accountId} is hot: it has a file on every server and is not moved`);
    if (!Number.isInteger(to) || to < 0 || to >= store.servers.length) {
      throw new ShardedStoreError('TS_ERR_DIRECTORY_UNKNOWN_SERVER', `no server ${String(to)} (there are ${store.servers.length})`);
    }
    const account = await store.servers[from]!.getAccount(accountId);
    if (!account) throw refuse(`no account ${accountId} on its server ${from}`);
    if (from === to) return { account: accountId, from, to, amount: 0 };
    if (account.balance !== 0 && store.clearingFor(account.currency) === undefined) throw refuse(`no clearing account for ${account.currency}: a balance cannot move between servers`);
    await store.deliverOwed();
    await store.servers[to]!.transaction(async (tx) => {
      if (!(await tx.getAccounts([accountId])).has(accountId)) await tx.insertAccount(copyOf(account));
    });
    d.moveAccount(accountId, to);
    const amount = await moveBalances(store, accountId, clock);
    return { account: accountId, from, to, amount };
  });
}

/** Creates the home file of every moved account that lacks one (a move cut between its steps): before recovery, which may credit it. */
export async function restoreMovedFiles(store: ShardedLedgerStore): Promise<number> {
  let created = 0;
  for (const id of store.directory.movedAccounts) {
    const home = store.directory.serverFor(id)!;
    if (await store.servers[home]!.getAccount(id)) continue;
    const source = (await Promise.all(store.directory.formerServers(id).map((s) => store.servers[s]!.getAccount(id)))).find((a) => a !== null);
    invariant(source !== undefined && source !== null, () => `moved account ${id} has no file on any server`);
    await store.servers[home]!.transaction((tx) => tx.insertAccount(copyOf(source)));
    created += 1;
  }
  return created;
}

/** The newest time on an account's history on one server: a new line must not be older (statements merge by time). */
async function newestAt(store: ShardedLedgerStore, server: number, accountId: string): Promise<number> {
  const [line] = await store.servers[server]!.statement(accountId, { limit: 1 });
  return line?.at ?? 0;
}

/** Moves what every former file of the account still holds into its home file, in one unit of work; returns the total. */
export function moveBalances(store: ShardedLedgerStore, accountId: string, clock: () => number = Date.now): Promise<number> {
  const home = store.directory.serverFor(accountId)!;
  const former = store.directory.formerServers(accountId);
  return store.unitOfWork(async (tx, unit) => {
    let moved = 0;
    for (const f of former) {
      const file = (await (await unit.tx(f)).getAccounts([accountId])).get(accountId);
      if (file === undefined || file.balance === 0) continue;
      // Money leaves the file that has it: the old one for a credit balance, the new one (going below 0, as the old one was) for a debit.
      const [src, dst] = file.balance > 0 ? [f, home] : [home, f];
      const at = Math.max(clock(), await newestAt(store, f, accountId), await newestAt(store, home, accountId));
      tx.credits.push(await sendLeg(store, unit, accountId, src, dst, Math.abs(file.balance), file, at));
      moved += file.balance;
    }
    return moved;
  });
}

async function sendLeg(store: ShardedLedgerStore, unit: Unit, id: string, src: number, dst: number, amount: number, file: Account, at: number): Promise<Credit> {
  const clearing = store.clearingFor(file.currency);
  invariant(clearing !== undefined, () => `no clearing account for ${file.currency}`);
  const tx = await unit.tx(src);
  const toward = positionAccountId(dst, clearing);
  const rows = await tx.getAccounts([id, toward]);
  const from = rows.get(id);
  const position = rows.get(toward);
  invariant(from !== undefined && position !== undefined, () => `server ${src} has no file of ${id} or no position ${toward}`);
  const send: NewTransfer = {
    kind: 'deposit', from: id, to: toward, amount, currency: file.currency, fromBalanceAfter: from.balance - amount, toBalanceAfter: position.balance + amount,
    journalDeviceId: null, journalRequestId: null, reference: legReference('move', id, uuidv7(at)), at,
  };
  await tx.apply({
    journalInserts: [], journalUpdates: [], transfers: [send],
    balances: [{ id, before: from.balance, after: from.balance - amount }, { id: toward, before: position.balance, after: position.balance + amount }],
  });
  return { server: dst, transfer: { ...send, from: positionAccountId(src, clearing), to: id, at: at + 1 } };
}
