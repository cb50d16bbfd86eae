/**
 * Hot accounts (claims 22–23): a busy shop's account keeps its main file on
 * its home server and an auxiliary file, same id, on every other server. A
 * deposit lands in the auxiliary on the payer's server, in the same
 * transaction as the payer's journal entry: no step between servers. The
 * integration job moves each auxiliary's balance into the main file — a send
 * on the auxiliary's server and a credit on the home server, like a deposit
 * between servers, so it is idempotent and a crash between the two is
 * finished by recovery. Auxiliary history stays where it was made (each
 * server's chain is its own); the statement merges main and auxiliaries.
 */
import { uuidv7 } from '../../../protocol/index.ts';
import { invariant } from '../../errors.ts';
import type { NewTransfer } from '../../model.ts';
import { ShardedStoreError } from './errors.ts';
import { legReference, positionAccountId } from './ids.ts';
import { copyOf } from './logical.ts';
import type { Credit } from './plan.ts';
import type { ShardedLedgerStore } from './sharded-store.ts';
import type { Unit } from './unit.ts';

/** How often the periodic integration runs by default, ms: an auxiliary's balance reaches the main file within a minute; statements merge the files meanwhile, so nothing is hidden. */
export const integrationIntervalMsDefault = 60_000;

export interface IntegrationResult {
  /** Auxiliary files whose balance moved, and the total moved, per hot account. */
  moved: Record<string, { files: number; amount: number }>;
}

/** Marks a merchant account hot and creates its auxiliary files. Idempotent. */
export function markHot(store: ShardedLedgerStore, accountId: string): Promise<void> {
  return store.exclusive(async () => {
    const home = store.directory.serverFor(accountId);
    if (home === null) throw new ShardedStoreError('TS_ERR_HOT_ACCOUNT', `${JSON.stringify(accountId)} is not a user account id`);
    const main = await store.servers[home]!.getAccount(accountId);
    if (!main || main.kind !== 'merchant') throw new ShardedStoreError('TS_ERR_HOT_ACCOUNT', `${accountId} is not a merchant account on its home server ${home}: only a shop's account can be hot`);
    store.directory.markHot(accountId); // first: if the copies below are cut short, the next start creates the rest
    for (const [s, server] of store.servers.entries()) {
      if (s === home) continue;
      await server.transaction(async (tx) => {
        if (!(await tx.getAccounts([accountId])).has(accountId)) await tx.insertAccount(copyOf(main));
      });
    }
  });
}

/** The newest time on `accountId`'s history on one server (a new line must not be older, statements merge by time). */
async function newestAt(store: ShardedLedgerStore, server: number, accountId: string): Promise<number> {
  const [line] = await store.servers[server]!.statement(accountId, { limit: 1 });
  return line?.at ?? 0;
}

/** Moves every auxiliary balance of the given hot accounts (default: all) into their main files. */
export function integrate(store: ShardedLedgerStore, accounts: readonly string[] = store.directory.hotAccounts, clock: () => number = Date.now): Promise<IntegrationResult> {
  for (const id of accounts) if (!store.directory.isHot(id)) return Promise.reject(new ShardedStoreError('TS_ERR_HOT_ACCOUNT', `${id} is not a hot account`));
  const result: IntegrationResult = { moved: {} };
  return store.exclusive(() => store.unitOfWork(async (tx, unit) => {
    for (const id of accounts) {
      const home = store.directory.serverFor(id)!;
      for (let s = 0; s < store.servers.length; s += 1) {
        if (s === home) continue;
        const credit = await sendAuxiliary(store, unit, s, home, id, clock);
        if (credit === null) continue;
        tx.credits.push(credit);
        const m = (result.moved[id] ??= { files: 0, amount: 0 });
        m.files += 1;
        m.amount += credit.transfer.amount;
      }
    }
    return result;
  }));
}

async function sendAuxiliary(store: ShardedLedgerStore, unit: Unit, s: number, home: number, id: string, clock: () => number): Promise<Credit | null> {
  const tx = await unit.tx(s);
  const aux = (await tx.getAccounts([id])).get(id);
  invariant(aux !== undefined, () => `hot account ${id} has no auxiliary file on server ${s}`);
  if (aux.balance <= 0) return null;
  const clearing = store.clearingFor(aux.currency);
  invariant(clearing !== undefined, () => `no clearing account for ${aux.currency}`);
  const toHome = positionAccountId(home, clearing);
  const position = (await tx.getAccounts([toHome])).get(toHome);
  invariant(position !== undefined, () => `server ${s} has no position ${toHome}`);
  const at = Math.max(clock(), await newestAt(store, s, id), await newestAt(store, home, id));
  const amount = aux.balance;
  const send: NewTransfer = {
    kind: 'deposit', from: id, to: toHome, amount, currency: aux.currency, fromBalanceAfter: 0, toBalanceAfter: position.balance + amount,
    journalDeviceId: null, journalRequestId: null, reference: legReference('integrate', id, uuidv7(at)), at,
  };
  await tx.apply({ journalInserts: [], journalUpdates: [], transfers: [send], balances: [{ id, before: amount, after: 0 }, { id: toHome, before: position.balance, after: position.balance + amount }] });
  return { server: home, transfer: { ...send, from: positionAccountId(s, clearing), to: id } };
}

/** Runs integration every `intervalMs` until the returned stop() (or the store's close). Errors are counted, not thrown: the next run tries again. */
export function startIntegration(store: ShardedLedgerStore, intervalMs = integrationIntervalMsDefault, clock: () => number = Date.now): { stop(): void; runs: number; failures: number; lastError: Error | null } {
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 10) throw new ShardedStoreError('TS_ERR_SHARDED_OPTION', `integration interval must be an integer ≥ 10 ms, got ${String(intervalMs)}`);
  let busy = false;
  const state = {
    runs: 0, failures: 0, lastError: null as Error | null,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    if (busy || store.directory.hotAccounts.length === 0) return;
    busy = true;
    integrate(store, undefined, clock)
      .then(() => { state.runs += 1; }, (err: unknown) => { state.failures += 1; state.lastError = err instanceof Error ? err : new Error(String(err)); })
      .finally(() => { busy = false; });
  }, intervalMs);
  timer.unref();
  store.onClose(() => clearInterval(timer));
  return state;
}
