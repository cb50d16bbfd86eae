/**
 * A PostgreSQL store whose server cannot be reached fails at migrate() with
 * its own code, naming where it tried and never the password. Needs no
 * PostgreSQL: it points at a 127.0.0.1 port that was just closed.
 */
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { CoreError } from '../../settlement-core/errors.ts';
import { PgLedgerStore } from '../../settlement-core/store/postgres/pg-store.ts';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

it('answers TS_ERR_STORE_UNREACHABLE with host, port and database, without the password', async () => {
  const port = await closedPort();
  const store = new PgLedgerStore({ connectionString: `postgres://ledger:s3cret-pw@127.0.0.1:${port}/books`, connectTimeoutMs: 2_000 });
  try {
    const err: unknown = await store.migrate().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CoreError);
    expect((err as CoreError).code).toBe('TS_ERR_STORE_UNREACHABLE');
    expect((err as CoreError).message).toContain(`127.0.0.1:${port}/books`);
    expect((err as CoreError).message).toContain('ECONNREFUSED');
    expect((err as CoreError).message).not.toContain('s3cret-pw');
  } finally {
    await store.close();
  }
});
