/** A small ledger for tests: EUR set up, one merchant, devices, funded customers with enrolled wallets. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDeviceKey, limits, uuidv7, walletCryptogram } from '../../protocol/index.ts';
import type { Purchase, Restrictions, SettleRequest, TicketSpec } from '../../protocol/index.ts';
import { SettlementCore, SqliteLedgerStore } from '../../settlement-core/index.ts';
import type { CoreOptions, CustomerAttributes } from '../../settlement-core/index.ts';

export const issuerMasterKey = Buffer.alloc(32, 7);
export const deviceMasterKey = Buffer.alloc(32, 9);
export const deviceKey = (id: string): Buffer => deriveDeviceKey(deviceMasterKey, id);

export interface TestWallet {
  walletId: string;
  walletKey: Buffer;
  account: string;
  counter: number;
}

export class Clock {
  constructor(public now = 1_800_000_000_000) {}
  read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

export function tempDir(prefix = 'tapsettle-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openCore(path: string, options: Partial<CoreOptions> = {}): Promise<SettlementCore> {
  return SettlementCore.open({ store: new SqliteLedgerStore({ path }), issuerMasterKey, deviceKey, scheduler: false, ...options });
}

export interface Station {
  core: SettlementCore;
  merchant: string;
  device: string;
  clock: Clock;
  wallets: TestWallet[];
}

export async function seedStation(core: SettlementCore, clock: Clock, customers: { balance: number; attributes?: CustomerAttributes }[]): Promise<Station> {
  await core.initCurrency('EUR');
  const merchant = (await core.openAccount({ kind: 'merchant', branch: 500, currency: 'EUR', name: 'Station shop' })).id;
  const device = 'vm-1';
  await core.registerDevice({ id: device, kind: 'vending', merchant });
  const wallets: TestWallet[] = [];
  for (const [i, c] of customers.entries()) {
    const account = await core.openAccount({ kind: 'customer', branch: 100 + (i % 3), currency: 'EUR', name: `Customer ${i}`, ...(c.attributes ? { attributes: c.attributes } : {}) });
    if (c.balance > 0) await core.fund({ account: account.id, amount: c.balance, reference: `seed-${i}` });
    const { wallet, walletKey } = await core.enrollWallet(account.id);
    wallets.push({ walletId: wallet.id, walletKey, account: account.id, counter: 0 });
  }
  return { core, merchant, device, clock, wallets };
}

export interface RequestOptions {
  amount?: number;
  article?: string;
  restrictions?: Restrictions;
  outcomeDeadlineSec?: number;
  merchant?: string;
  device?: string;
  counter?: number;
  requestId?: string;
  /** Claims 15–16: ask the core to mint a ticket. */
  ticket?: TicketSpec;
  /** Accepted by the device under its offline policy, settled later. */
  offline?: true;
}

/** A settle request as a phone + device would produce it: the cryptogram is genuine. */
export function makeRequest(s: Station, w: TestWallet, o: RequestOptions = {}): SettleRequest {
  const deviceId = o.device ?? s.device;
  const purchase: Purchase = { merchant: o.merchant ?? s.merchant, amount: { minor: o.amount ?? 250, currency: 'EUR' }, article: o.article ?? 'cola-330', quantity: 1 };
  const counter = o.counter ?? (w.counter += 1);
  const deviceNonce = randomBytes(limits.nonceBytes).toString('hex');
  const cryptogram = walletCryptogram(w.walletKey, { walletId: w.walletId, deviceId, purchase, deviceNonce, counter });
  return {
    v: 1, type: 'settle', requestId: o.requestId ?? uuidv7(s.clock.now), sentAt: s.clock.now, deviceId, purchase,
    wallet: { walletId: w.walletId, counter, deviceNonce, cryptogram },
    ...(o.restrictions ? { restrictions: o.restrictions } : {}),
    ...(o.outcomeDeadlineSec !== undefined ? { outcomeDeadlineSec: o.outcomeDeadlineSec } : {}),
    ...(o.ticket ? { ticket: o.ticket } : {}),
    ...(o.offline ? { offline: o.offline } : {}),
  };
}

export async function settleOk(s: Station, req: SettleRequest) {
  const reply = await s.core.settle(req.deviceId, JSON.stringify(req));
  if (reply.kind !== 'result') throw new Error(`unreadable: ${reply.reason}`);
  return reply;
}

export async function balanceOf(core: SettlementCore, id: string): Promise<number> {
  const a = await core.store.getAccount(id);
  if (!a) throw new Error(`no account ${id}`);
  return a.balance;
}
