/**
 * Child process of crash.test.ts: a settlement core under load that the
 * parent SIGKILLs at random moments. It prints one line per request only
 * after the core answered it (= after the answer was durable):
 *   R <index> <status> <sha256 of the result JSON>
 * Requests are derived from their index, so a restarted worker resends
 * exactly the same bytes for the same index (a redelivery).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deriveWalletKey, walletCryptogram } from '../../protocol/index.ts';
import type { Purchase } from '../../protocol/index.ts';
import { SettlementCore, SqliteLedgerStore } from '../../settlement-core/index.ts';
import { deviceKey, issuerMasterKey } from './fixtures.ts';

export interface CrashSetup {
  walletIds: string[];
  device: string;
  merchant: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/** UUIDv7 from a fixed time base and the index, the rest from a hash: deterministic and valid. */
export function requestIdFor(i: number): string {
  const h = sha(`req:${i}`);
  const ms = 1_800_000_000_000 + i;
  const b = Buffer.alloc(16);
  b.writeUIntBE(ms, 0, 6);
  h.copy(b, 6, 0, 10);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export function requestFor(setup: CrashSetup, i: number): string {
  const h = sha(`body:${i}`);
  const walletId = setup.walletIds[h[0]! % setup.walletIds.length]!;
  const purchase: Purchase = { merchant: setup.merchant, amount: { minor: 1 + (h.readUInt16BE(1) % 300), currency: 'EUR' }, article: 'a', quantity: 1 };
  const deviceNonce = h.subarray(3, 19).toString('hex');
  const counter = i + 1;
  const cryptogram = walletCryptogram(deriveWalletKey(issuerMasterKey, walletId), { walletId, deviceId: setup.device, purchase, deviceNonce, counter });
  return JSON.stringify({
    v: 1, type: 'settle', requestId: requestIdFor(i), sentAt: Date.now(), deviceId: setup.device, purchase,
    wallet: { walletId, counter, deviceNonce, cryptogram },
    ...(i % 5 === 0 ? { outcomeDeadlineSec: 1 } : {}),
    ...(i % 7 === 0 ? { restrictions: { coolingOffSec: 1 } } : {}),
  });
}

/** The load both crash workers put on a core: waves of settles, an outcome for some; a line per answer, written only once it is durable. */
export async function driveLoad(core: SettlementCore, setup: CrashSetup, start: number, count: number): Promise<void> {
  const wave = 64;
  for (let i = start; i < start + count; i += wave) {
    await Promise.all(Array.from({ length: Math.min(wave, start + count - i) }, async (_, k) => {
      const index = i + k;
      const reply = await core.settle(setup.device, requestFor(setup, index));
      if (reply.kind !== 'result') throw new Error(`unreadable request ${index}`);
      process.stdout.write(`R ${index} ${reply.result.status} ${sha(reply.json).toString('hex')}\n`);
      if (reply.result.status === 'approved' && index % 5 === 0 && index % 10 !== 5) {
        const outcome = index % 3 === 0 ? 'vend-failed' : 'dispensed';
        await core.outcome(setup.device, JSON.stringify({ v: 1, type: 'outcome', requestId: requestIdFor(index + 1e9), sentAt: Date.now(), deviceId: setup.device, settleRequestId: requestIdFor(index), outcome }));
      }
    }));
  }
}

async function main(): Promise<void> {
  const [dbPath, setupPath, startArg, countArg] = process.argv.slice(2);
  const setup = JSON.parse(readFileSync(setupPath!, 'utf8')) as CrashSetup;
  const start = Number(startArg);
  const count = Number(countArg);
  const core = await SettlementCore.open({
    store: new SqliteLedgerStore({ path: dbPath! }), issuerMasterKey, deviceKey, limits: { duePollMs: 50, batchSizeMax: 200 },
  });
  process.stdout.write('ready\n');
  await driveLoad(core, setup, start, count);
  await core.drain();
  process.stdout.write('done\n');
  await core.close();
}

if (process.argv[1]?.endsWith('crash-worker.ts')) await main();
