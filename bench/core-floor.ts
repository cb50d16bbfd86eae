/**
 * The floor for bench:core: the rows one settlement writes, written by plain
 * better-sqlite3 prepared statements in batched transactions, with the same
 * schema, pragmas and transaction shape as the engine (each transaction holds
 * half a batch of new settlements and the deposits of the previous half
 * batch) and nothing else: no parsing, no MACs, no reads, no checks.
 */
import Database from 'better-sqlite3';
import { uuidv7 } from '../protocol/index.ts';
import { migrations } from '../settlement-core/store/sqlite/schema.ts';

export function writeFloor(path: string, o: { accounts: number; settlements: number; merchants: number; batchSizeMax: number; payloadBytes: number }): { perSec: number } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  for (const m of migrations) db.exec(m);
  const insertAccount = db.prepare(`INSERT INTO accounts VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?, 'active', '{}', 0)`);
  const clearing = '000-0000002';
  db.transaction(() => {
    insertAccount.run(clearing, 0, 2, 'clearing', 'clearing', 0, 0);
    for (let i = 0; i < o.merchants; i += 1) insertAccount.run(`900-${String(i).padStart(7, '0')}`, 900, i, 'merchant', 'm', 0, 0);
    for (let i = 0; i < o.accounts; i += 1) insertAccount.run(`${String(1 + (i % 999)).padStart(3, '0')}-${String(i).padStart(7, '0')}`, 1 + (i % 999), i, 'customer', 'c', 1_000_000_000, 0);
  })();
  const insertJournal = db.prepare(`INSERT INTO journal VALUES (NULL, ?, ?, ?, 'withdrawn', NULL, ?, ?, ?, ?, 'cola-330', ?, 'EUR', NULL, 0, ?, NULL, NULL, ?, ?, ?, ?)`);
  const updateJournal = db.prepare(`UPDATE journal SET state = 'deposited', due_at = NULL, updated_at = ? WHERE device_id = ? AND request_id = ? AND state = 'withdrawn'`);
  const insertTransfer = db.prepare(`INSERT INTO transfers (kind, from_account, to_account, amount, currency, from_balance_after, to_balance_after, journal_device, journal_request, reference, at) VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?, ?, NULL, ?)`);
  const updateBalance = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?');
  const request = 'x'.repeat(o.payloadBytes);
  const result = 'r'.repeat(260);
  const fingerprint = 'f'.repeat(64);
  const half = Math.max(1, Math.floor(o.batchSizeMax / 2));
  type Pending = { device: string; request: string; payer: string; merchant: string; amount: number };
  let previous: Pending[] = [];
  let counter = 0;
  const started = performance.now();
  for (let done = 0; done < o.settlements || previous.length > 0;) {
    const n = Math.min(half, o.settlements - done);
    const fresh: Pending[] = [];
    db.transaction(() => {
      const now = Date.now();
      let clearingDelta = 0;
      for (let i = 0; i < n; i += 1) {
        const a = Math.floor(Math.random() * o.accounts);
        const m = Math.floor(Math.random() * o.merchants);
        const p: Pending = { device: `dev-${m}`, request: uuidv7(now), payer: `${String(1 + (a % 999)).padStart(3, '0')}-${String(a).padStart(7, '0')}`, merchant: `900-${String(m).padStart(7, '0')}`, amount: 1 + (i % 500) };
        counter += 1;
        insertJournal.run(p.device, p.request, fingerprint, `w-${counter}`, counter, p.payer, p.merchant, p.amount, now, request, result, now, now);
        insertTransfer.run('withdraw', p.payer, clearing, p.amount, 0, 0, p.device, p.request, now);
        updateBalance.run(-p.amount, p.payer);
        clearingDelta += p.amount;
        fresh.push(p);
      }
      for (const p of previous) {
        updateJournal.run(now, p.device, p.request);
        insertTransfer.run('deposit', clearing, p.merchant, p.amount, 0, 0, p.device, p.request, now);
        updateBalance.run(p.amount, p.merchant);
        clearingDelta -= p.amount;
      }
      updateBalance.run(clearingDelta, clearing);
    })();
    done += n;
    previous = fresh;
  }
  const elapsed = performance.now() - started;
  db.close();
  return { perSec: o.settlements / (elapsed / 1000) };
}
