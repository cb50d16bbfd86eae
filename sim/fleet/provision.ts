/**
 * Provisions the fleet's gateway in bulk: the currency, one merchant, every
 * device in the core and in the gateway's device registry, and the phones'
 * customer accounts, funds and wallets, each step one transaction per chunk.
 */
import type { DeviceKind } from '../../protocol/index.ts';
import { deviceIdOf } from './devices.ts';
import type { FleetGatewayInstance } from './gateway-port.ts';
import type { Scenario } from './scenario.ts';

/** Accounts, funds and wallets per transaction: one import of 1,000 rows is a few ms of SQLite. */
export const provisionChunkMax = 1_000;
/** Registry adds at once: each is one scrypt on the thread pool (4 threads by default). */
export const registryAddsInFlightMax = 8;

export const fleetKinds: readonly DeviceKind[] = ['gate', 'vending', 'kiosk', 'pos'];

export interface PhoneCredentials {
  index: number;
  account: string;
  walletId: string;
  walletKey: Buffer;
  funds: number;
  role: 'funded' | 'no-funds' | 'deny-listed';
}

export interface Provisioned {
  merchant: string;
  devices: { kind: DeviceKind; index: number; id: string; secret: string }[];
  phones: PhoneCredentials[];
}

async function inChunks<T, R>(items: readonly T[], size: number, run: (chunk: readonly T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await run(items.slice(i, i + size))));
  return out;
}

/** Runs `run` over `items` with at most `inFlight` at once, keeping the order of results. */
async function bounded<T, R>(items: readonly T[], inFlight: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await run(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, worker));
  return out;
}

export async function provision(gw: FleetGatewayInstance, s: Scenario, onStep: (what: string, done: number, total: number) => void = () => undefined): Promise<Provisioned> {
  const { core, registry } = gw;
  await core.initCurrency('EUR');
  const merchant = await core.openAccount({ kind: 'merchant', branch: 500, currency: 'EUR', name: 'Fleet operator' });
  const wanted = fleetKinds.flatMap((kind) => Array.from({ length: s.devices[kind] }, (_, index) => ({ kind, index, id: deviceIdOf(kind, index) })));
  let done = 0;
  const devices = await bounded(wanted, registryAddsInFlightMax, async (d) => {
    await core.registerDevice({ id: d.id, kind: d.kind, merchant: merchant.id });
    const { secret } = await registry.add({ id: d.id, kind: d.kind, merchant: merchant.id });
    onStep('devices registered', (done += 1), wanted.length);
    return { ...d, secret };
  });
  const p = s.phones;
  const roles: PhoneCredentials['role'][] = Array.from({ length: p.count }, (_, i) => (i < p.noFunds ? 'no-funds' : i < p.noFunds + p.denyListed ? 'deny-listed' : 'funded'));
  const accounts = await inChunks(roles, provisionChunkMax, (chunk) => core.openAccounts(chunk.map(() => ({ kind: 'customer' as const, branch: 100, currency: 'EUR', name: 'Fleet phone', attributes: { ageBand: '21-plus' as const } }))));
  const funds = roles.map((r) => (r === 'no-funds' ? 0 : p.fundsMinor));
  await inChunks(accounts.map((a, i) => ({ a, amount: funds[i]! })).filter((x) => x.amount > 0), provisionChunkMax, async (chunk) => {
    await core.fundMany(chunk.map((x) => ({ account: x.a.id, amount: x.amount, reference: `fleet-${x.a.id}` })));
    return [];
  });
  const wallets = await inChunks(accounts, provisionChunkMax, (chunk) => core.enrollWallets(chunk.map((a) => a.id)));
  const phones = wallets.map(({ wallet, walletKey }, index) => ({ index, account: wallet.account, walletId: wallet.id, walletKey, funds: funds[index]!, role: roles[index]! }));
  return { merchant: merchant.id, devices, phones };
}

