/**
 * The demo station seeded on a gateway's first run (`npm start`): a merchant,
 * one provisioned device of each kind, five funded demo wallets. Credentials
 * go to <data>/demo-credentials.json (owner-only), so simulators and a
 * technician can connect without a setup ritual.
 */
import { writeFileSync } from 'node:fs';
import type { AgeBand, DeviceKind } from '../protocol/index.ts';
import type { SettlementCore } from '../settlement-core/index.ts';

/** What the seed needs of the device registry. */
export interface SeedRegistry {
  add(input: { id: string; kind: DeviceKind; merchant: string }): { secret: string } | Promise<{ secret: string }>;
}

export interface DemoCredentials {
  merchant: string;
  devices: { id: string; kind: DeviceKind; role: string; secret: string }[];
  wallets: { name: string; account: string; walletId: string; walletKey: string; balance: number }[];
}

export const demoDevices: readonly { id: string; kind: DeviceKind; role: string }[] = [
  { id: 'gate-entry-1', kind: 'gate', role: 'entry gate' },
  { id: 'gate-exit-1', kind: 'gate', role: 'exit gate' },
  { id: 'vending-1', kind: 'vending', role: 'vending machine' },
  { id: 'kiosk-1', kind: 'kiosk', role: 'ticket kiosk' },
  { id: 'pos-1', kind: 'pos', role: 'purchase terminal' },
];

const demoPhones: readonly { name: string; balance: number; ageBand: AgeBand }[] = [
  { name: 'Ada', balance: 10_000, ageBand: '21-plus' },
  { name: 'Ben', balance: 5_000, ageBand: '18-20' },
  { name: 'Cleo', balance: 2_500, ageBand: '16-17' },
  { name: 'Dev', balance: 1_000, ageBand: 'under-16' },
  { name: 'Eve', balance: 0, ageBand: '21-plus' },
];

/** Seeds the demo station if the ledger has no merchant yet; returns the credentials, or null if already seeded. */
export async function seedDemo(core: SettlementCore, registry: SeedRegistry, currency: string, credentialsPath: string): Promise<DemoCredentials | null> {
  if ((await core.store.listAccounts({ kind: 'merchant', limit: 1 })).length > 0) return null;
  await core.initCurrency(currency);
  const merchant = await core.openAccount({ kind: 'merchant', branch: 500, currency, name: 'Demo station operator' });
  const devices: DemoCredentials['devices'] = [];
  for (const d of demoDevices) {
    await core.registerDevice({ id: d.id, kind: d.kind, merchant: merchant.id });
    const { secret } = await registry.add({ id: d.id, kind: d.kind, merchant: merchant.id });
    devices.push({ ...d, secret });
  }
  const accounts = await core.openAccounts(demoPhones.map((p) => ({ kind: 'customer' as const, branch: 100, currency, name: `Demo phone ${p.name}`, attributes: { ageBand: p.ageBand } })));
  await core.fundMany(accounts.flatMap((a, i) => (demoPhones[i]!.balance > 0 ? [{ account: a.id, amount: demoPhones[i]!.balance, reference: `demo-seed-${a.id}` }] : [])));
  const enrolled = await core.enrollWallets(accounts.map((a) => a.id));
  const wallets = enrolled.map(({ wallet, walletKey }, i) => ({
    name: demoPhones[i]!.name, account: wallet.account, walletId: wallet.id, walletKey: walletKey.toString('base64'), balance: demoPhones[i]!.balance,
  }));
  const credentials: DemoCredentials = { merchant: merchant.id, devices, wallets };
  writeFileSync(credentialsPath, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}
