/**
 * `store:` in the gateway config: the same gateway on PostgreSQL (when
 * TAPSETTLE_PG_URL is set) and on two sharded SQLite servers. Each seeds the
 * demo station, settles a tap from a real device link, and passes its audit.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { DeviceLink } from '../../firmware-hosts/runtime/link.ts';
import { quickBackoff, settleDraft } from '../firmware-hosts/runtime/link-fixtures.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

const url = process.env.TAPSETTLE_PG_URL ?? '';
if (!url) console.warn('store-choice.test.ts: the PostgreSQL case is skipped: TAPSETTLE_PG_URL is not set (CI sets postgres://postgres@127.0.0.1:5432/test)');
const t = tempDir('tapsettle-store-choice-');
const schema = `ts_gw_store_${process.pid}`;
afterAll(async () => {
  t.cleanup();
  if (url) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
});

async function settlesOnce(store: unknown, name: string): Promise<void> {
  const keys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) };
  const gw = await startGateway(parseGatewayConfig({ data: join(t.dir, name), mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' }, store }), keys);
  const link = DeviceLink.open({ url: gw.urls.mqtt, deviceId: 'vending-1', secret: gw.demo!.devices.find((d) => d.id === 'vending-1')!.secret, dataDir: join(t.dir, `${name}-dev`), backoff: quickBackoff });
  try {
    const ada = gw.demo!.wallets[0]!;
    const result = await link.settle(settleDraft('vending-1', gw.demo!.merchant, ada, 120));
    expect(result.status).toBe('approved');
    expect((await gw.core.store.getAccount(ada.account))!.balance).toBe(ada.balance - 120);
    const audit = await gw.core.audit();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
  } finally {
    await link.close();
    await gw.close();
  }
}

describe('gateway store:', () => {
  it.skipIf(!url)('postgres: the demo station settles on PostgreSQL', async () => {
    await settlesOnce({ kind: 'postgres', url, schema }, 'pg');
  });

  it('sharded: the demo station settles across two SQLite servers', async () => {
    await settlesOnce({ kind: 'sharded', servers: [{ kind: 'sqlite', path: 'shard-0.db' }, { kind: 'sqlite', path: 'shard-1.db' }] }, 'sharded');
  });

  it('a bad store: section is a config error naming the key', () => {
    expect(() => parseGatewayConfig({ store: { kind: 'postgres', url: 'mysql://x' } })).toThrow(/store\.url/);
    expect(() => parseGatewayConfig({ store: { kind: 'oracle' } })).toThrow(/store/);
  });
});
