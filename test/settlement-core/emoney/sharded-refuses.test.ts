/**
 * The sharded store does not route e-money yet: issuance, deposit and the
 * inbox are refused with TS_ERR_EMONEY_UNSUPPORTED before anything is read
 * or written, and the ledger stays sound.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateSigningKeyPair, uuidv7 } from '../../../protocol/index.ts';
import type { SettlementCore, Wallet } from '../../../settlement-core/index.ts';
import { Clock, balanceOf, tempDir } from '../fixtures.ts';
import { openShardedCore, openSqliteSharded, seedShardedStation } from '../sharded/helpers.ts';

const issuer = generateSigningKeyPair('issuer-sharded');
let t: ReturnType<typeof tempDir>;
let core: SettlementCore;
let payer: Wallet;

beforeEach(async () => {
  t = tempDir('tapsettle-emoney-sharded-');
  const clock = new Clock();
  core = await openShardedCore(openSqliteSharded(t.dir, 2), { clock: clock.read, ticketIssuer: { keyId: issuer.keyId, pair: issuer } });
  const s = await seedShardedStation(core, clock, [1_000, 0]);
  payer = (await core.store.getWallet(s.wallets[0]!.walletId))!;
});
afterEach(async () => {
  await core.close();
  t.cleanup();
});

it('refuses issuance, deposit and the inbox with TS_ERR_EMONEY_UNSUPPORTED; nothing moves', async () => {
  const unsupported = { code: 'TS_ERR_EMONEY_UNSUPPORTED' };
  await expect(core.issueEmoney(payer, { requestId: uuidv7(), amount: { minor: 100, currency: 'EUR' }, recipient: payer.id })).rejects.toMatchObject(unsupported);
  const token = { serial: uuidv7(), amount: { minor: 1, currency: 'EUR' }, holder: payer.id, issuedAt: 1, float: '000-0000004', keyId: issuer.keyId, sig: 'A'.repeat(86) };
  await expect(core.depositEmoney(payer, { requestId: uuidv7(), tokens: [token] })).rejects.toMatchObject(unsupported);
  await expect(core.store.emoneyInbox(payer.id, { limit: 5 })).rejects.toMatchObject(unsupported);
  expect(await balanceOf(core, payer.account)).toBe(1_000);
  // The core is not stopped by the refusal: it still works.
  expect((await core.audit()).ok).toBe(true);
  await core.fund({ account: payer.account, amount: 1, reference: 'after' });
  expect(await balanceOf(core, payer.account)).toBe(1_001);
});
