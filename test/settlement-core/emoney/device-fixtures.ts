/**
 * A ledger with an issuer key for e-money bought at a device (claim 34, PUT
 * EMONEY): a settle request with `emoney: { kind: 'issue' }`, the outcome a
 * kiosk sends, the checks every test makes.
 */
import { expect } from 'vitest';
import { EmoneyToken, emoneyTokenBytes, uuidv7, verifyEd25519 } from '../../../protocol/index.ts';
import type { OutcomeKind, SettleRequest } from '../../../protocol/index.ts';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { PgLedgerStore, SettlementCore } from '../../../settlement-core/index.ts';
import type { CoreOptions } from '../../../settlement-core/index.ts';
import { deviceKey, issuerMasterKey, makeRequest, openCore } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded } from '../sharded/helpers.ts';
import type { RequestOptions, Station, TestWallet } from '../fixtures.ts';
import { issuer } from './emoney-suite.ts';

export { issuer };

export const withIssuer: Partial<CoreOptions> = { ticketIssuer: { keyId: issuer.keyId, pair: issuer } };

/** What a kiosk sends to sell e-money of `amount`. */
export const emoneyRequest = (s: Station, w: TestWallet, o: RequestOptions = {}): SettleRequest =>
  ({ ...makeRequest(s, w, { article: 'emoney', ...o }), emoney: { kind: 'issue' } });

export async function settle(s: Station, req: SettleRequest) {
  const reply = await s.core.settle(req.deviceId, JSON.stringify(req));
  if (reply.kind !== 'result') throw new Error(`unreadable: ${reply.reason}`);
  return reply;
}

export async function sendOutcome(s: Station, settleRequestId: string, outcome: OutcomeKind, requestId = uuidv7(s.clock.now)) {
  const body = { v: 1, type: 'outcome', requestId, sentAt: s.clock.now, deviceId: s.device, settleRequestId, outcome };
  const reply = await s.core.outcome(s.device, JSON.stringify(body));
  if (reply.kind !== 'outcome-ack') throw new Error(`unreadable: ${reply.reason}`);
  return reply.ack.status;
}

/** The token of an approved e-money result, checked: it parses and verifies under the issuer key. */
export function tokenOf(result: { status: string; emoney?: unknown }): EmoneyToken {
  expect(result.status).toBe('approved');
  const token = EmoneyToken.parse(result.emoney);
  const { sig, ...unsigned } = token;
  expect(verifyEd25519(issuer.publicKey, emoneyTokenBytes(unsigned), sig)).toBe(true);
  return token;
}

export const floatOf = async (core: SettlementCore): Promise<string> => (await core.store.listAccounts({ kind: 'issuer-float', limit: 10 }))[0]!.id;
export const clearingOf = async (core: SettlementCore): Promise<string> => (await core.store.listAccounts({ kind: 'clearing', limit: 10 }))[0]!.id;

export async function expectAuditOk(core: SettlementCore): Promise<void> {
  const report = await core.audit();
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.checks.map((c) => c.name)).toContain('emoney-float');
}

/** The ledgers these tests run on; `open` on the same dir again reopens the same ledger (a restart); `cleanup` after the test. */
export interface Ledger {
  label: string;
  open(dir: string, options: Partial<CoreOptions>): Promise<SettlementCore>;
  cleanup(dir: string): Promise<void>;
}

const pgUrl = process.env.TAPSETTLE_PG_URL ?? '';
/** One schema per test directory, so a reopen finds the same ledger. */
const pgSchema = (dir: string): string => `ts_emoney_dev_${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;

export const ledgers: Ledger[] = [
  { label: 'SQLite', open: (dir, options) => openCore(join(dir, 'ledger.db'), options), cleanup: () => Promise.resolve() },
  {
    // Customers on server 1, the merchant on server 2, the float's money and the tokens on server 0: every purchase is a mint leg.
    label: 'the sharded store (3 SQLite servers)',
    open: (dir, options) => {
      const at = join(dir, 'sharded');
      mkdirSync(at, { recursive: true });
      return openShardedCore(openSqliteSharded(at, 3), options);
    },
    cleanup: () => Promise.resolve(),
  },
  ...(pgUrl === '' ? [] : [{
    label: 'PostgreSQL',
    open: (dir: string, options: Partial<CoreOptions>) => SettlementCore.open({
      store: new PgLedgerStore({ connectionString: pgUrl, schema: pgSchema(dir), poolSizeMax: 3 }), issuerMasterKey, deviceKey, scheduler: false, ...options,
    }),
    cleanup: async (dir: string) => {
      const c = new Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${pgSchema(dir)} CASCADE`).finally(() => c.end());
    },
  }]),
];

if (pgUrl === '') console.warn('device e-money tests run on SQLite and the sharded store only: TAPSETTLE_PG_URL is not set (CI sets postgres://postgres@127.0.0.1:5432/test)');
