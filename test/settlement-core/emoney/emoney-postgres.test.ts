/** E-money (claims 34–35) on the PostgreSQL store: each test in a fresh schema, dropped after. Needs TAPSETTLE_PG_URL. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { describe, it } from 'vitest';
import { PgLedgerStore } from '../../../settlement-core/index.ts';
import { emoneySuite } from './emoney-suite.ts';

const url = process.env.TAPSETTLE_PG_URL ?? '';

if (!url) {
  console.warn('emoney-postgres.test.ts skipped: TAPSETTLE_PG_URL is not set (CI sets postgres://postgres@127.0.0.1:5432/test)');
  describe('e-money on PostgreSQL', () => {
    it('needs TAPSETTLE_PG_URL (skipped: see the warning above)', () => undefined);
  });
} else {
  emoneySuite('PostgreSQL', () => {
    const schema = `ts_emoney_${randomBytes(6).toString('hex')}`;
    return {
      open: () => new PgLedgerStore({ connectionString: url, schema, poolSizeMax: 3 }),
      cleanup: async () => {
        const c = new Client({ connectionString: url });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
      },
    };
  });
}
