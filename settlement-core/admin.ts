/**
 * Operator tasks: set up a currency's system accounts, open and fund
 * accounts, register devices, enroll wallets. Each runs in a transaction of
 * its own, in the same queue as settlements, so it never interleaves with a
 * batch. Funding is idempotent on its reference.
 */
import { formatAccountId, limits, parseAccountId, uuidv7 } from '../protocol/index.ts';
import type { DeviceKind } from '../protocol/index.ts';
import { BatchState } from './engine/batch-state.ts';
import { CoreError } from './errors.ts';
import { CustomerAttributes, systemAccountKinds } from './model.ts';
import type { Account, AccountKind, Device, Transfer, Wallet } from './model.ts';
import type { LedgerTx } from './store/ledger-store.ts';

/**
 * Money enters only through external funding; the card receivable goes negative by every captured card sale
 * (the scheme owes it) until the scheme pays. Both may reach the ledger's most negative balance.
 */
const systemFloor: Readonly<Record<string, number>> = { 'external-funding': -limits.balanceMinorMax, 'card-receivable': -limits.balanceMinorMax };

export async function initCurrency(tx: LedgerTx, currency: string, now: number): Promise<Account[]> {
  if (!/^[A-Z]{3}$/.test(currency)) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `currency must be an ISO 4217 code like EUR, got ${JSON.stringify(currency)}`);
  const created: Account[] = [];
  let next = (await tx.maxAccountNumber(0)) + 1;
  for (const kind of systemAccountKinds) {
    if ((await tx.findAccounts(kind, currency)).length > 0) continue;
    next = Math.max(next, 1);
    const account: Account = {
      id: formatAccountId(0, next), kind, currency, name: `${kind} ${currency}`, balance: 0,
      floor: systemFloor[kind] ?? 0, status: 'active', attributes: {}, createdAt: now,
    };
    next += 1;
    await tx.insertAccount(account);
    created.push(account);
  }
  return created;
}

export interface OpenAccountInput {
  /** Either a full id `BBB-NNNNNNN`, or a branch and the next free number on it is used. */
  id?: string;
  branch?: number;
  kind: Extract<AccountKind, 'customer' | 'merchant'>;
  currency: string;
  name: string;
  /** Below 0 grants a credit line. */
  floor?: number;
  attributes?: CustomerAttributes;
}

export async function openAccount(tx: LedgerTx, input: OpenAccountInput, now: number): Promise<Account> {
  if (input.kind !== 'customer' && input.kind !== 'merchant') throw new CoreError('TS_ERR_INVALID_ARGUMENT', `kind must be customer or merchant, got ${String(input.kind)}`);
  if ((await tx.findAccounts('clearing', input.currency)).length === 0) {
    throw new CoreError('TS_ERR_CURRENCY', `currency ${input.currency} is not set up; run \`tapsettle ledger init --currency ${input.currency}\` first`);
  }
  const floor = input.floor ?? 0;
  if (!Number.isSafeInteger(floor) || floor > 0 || floor < -limits.balanceMinorMax) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `floor must be an integer ≤ 0, got ${floor}`);
  const attributes = CustomerAttributes.safeParse(input.attributes ?? {});
  if (!attributes.success) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `attributes: ${attributes.error.issues[0]?.message ?? 'invalid'}`);
  const name = input.name.trim();
  if (name.length === 0 || name.length > 120) throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'name must be 1 to 120 characters');
  let id = input.id;
  if (id === undefined) {
    const branch = input.branch ?? 1;
    if (!Number.isInteger(branch) || branch < 1 || branch > 999) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `branch must be 1..999 (000 holds system accounts), got ${branch}`);
    id = formatAccountId(branch, Math.max(1, (await tx.maxAccountNumber(branch)) + 1));
  }
  const parsed = parseAccountId(id);
  if (!parsed || parsed.branch === 0) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `account id must be BBB-NNNNNNN on a branch 001..999, got ${JSON.stringify(id)}`);
  if ((await tx.getAccounts([id])).size > 0) throw new CoreError('TS_ERR_ACCOUNT_EXISTS', `account ${id} already exists`);
  const account: Account = { id, kind: input.kind, currency: input.currency, name, balance: 0, floor, status: 'active', attributes: attributes.data, createdAt: now };
  await tx.insertAccount(account);
  return account;
}

/**
 * Money enters the ledger only here: from the currency's external funding
 * account, to a customer or merchant — or to the currency's card receivable
 * when the card scheme pays what it owes for captured card sales (claim 36,
 * docs/card-settlement.md), never more than it owes.
 */
export interface FundInput {
  account: string;
  amount: number;
  /** Idempotency key: a retry with the same reference funds once. */
  reference: string;
}

export async function fund(tx: LedgerTx, input: FundInput, now: number): Promise<Transfer | Omit<Transfer, 'id'>> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0 || input.amount > limits.balanceMinorMax) {
    throw new CoreError('TS_ERR_INVALID_ARGUMENT', `amount must be a positive integer of minor units, got ${input.amount}`);
  }
  if (input.reference.length === 0 || input.reference.length > 64) throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'reference must be 1 to 64 characters');
  const previous = await tx.transferByReference(input.reference);
  if (previous) {
    if (previous.to === input.account && previous.amount === input.amount && previous.kind === 'fund') return previous;
    throw new CoreError('TS_ERR_INVALID_ARGUMENT', `reference ${input.reference} was already used for another transfer`);
  }
  const target = (await tx.getAccounts([input.account])).get(input.account);
  if (!target) throw new CoreError('TS_ERR_UNKNOWN_ACCOUNT', `no account ${input.account}`);
  if (target.kind !== 'customer' && target.kind !== 'merchant' && target.kind !== 'card-receivable') {
    throw new CoreError('TS_ERR_INVALID_ARGUMENT', `only customer, merchant and card-receivable accounts are funded, ${input.account} is ${target.kind}`);
  }
  // The receivable is minus what the scheme still owes: a payout brings it toward 0, never past it.
  if (target.kind === 'card-receivable' && target.balance + input.amount > 0) {
    throw new CoreError('TS_ERR_INVALID_ARGUMENT', `the card scheme owes ${-target.balance} on ${input.account}; a payout of ${input.amount} is more`);
  }
  const [source] = await tx.findAccounts('external-funding', target.currency);
  if (!source) throw new CoreError('TS_ERR_CURRENCY', `no external funding account for ${target.currency}`);
  const b = new BatchState({ accounts: new Map([[target.id, target], [source.id, source]]), devices: new Map(), wallets: new Map(), entries: new Map(), countersUsed: new Set() }, now);
  b.move('fund', source.id, target.id, input.amount, null, input.reference);
  const writes = b.finish();
  await tx.apply(writes);
  return writes.transfers[0]!;
}

export async function registerDevice(tx: LedgerTx, input: { id: string; kind: DeviceKind; merchant: string; status?: Device['status'] }, now: number): Promise<Device> {
  const merchant = (await tx.getAccounts([input.merchant])).get(input.merchant);
  if (!merchant || merchant.kind !== 'merchant') throw new CoreError('TS_ERR_UNKNOWN_ACCOUNT', `${input.merchant} is not a merchant account`);
  const existing = (await tx.getDevices([input.id])).get(input.id);
  const device: Device = { id: input.id, kind: input.kind, merchant: input.merchant, status: input.status ?? 'active', createdAt: existing?.createdAt ?? now };
  await tx.upsertDevice(device);
  return device;
}

export async function enrollWallet(tx: LedgerTx, account: string, now: number): Promise<Wallet> {
  const a = (await tx.getAccounts([account])).get(account);
  if (!a || a.kind !== 'customer') throw new CoreError('TS_ERR_UNKNOWN_ACCOUNT', `${account} is not a customer account`);
  const wallet: Wallet = { id: uuidv7(now), account, status: 'active', requestCounter: -1, createdAt: now };
  await tx.insertWallet(wallet);
  return wallet;
}
