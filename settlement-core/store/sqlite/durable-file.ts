/**
 * How every durable side file of tapsettle is opened — the issuer's card
 * table, the gateway's card authorization log, device registry and enrollment
 * codes, the sharded store's directory: its folder made, WAL (readers beside
 * one writer, also from another process such as the CLI), synchronous=FULL
 * (a commit is on disk before anything is answered), and a busy timeout (wait
 * for another process's write rather than fail). A file whose settings fail
 * is closed before the error goes on. The ledger's own file has its writer
 * and reader connections (sqlite-store.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** How long a statement waits for another connection's write lock, ms: a CLI command or a batch commit is over in far less. */
export const sideFileBusyTimeoutMs = 5_000;

export function openDurableFile(path: string, busyTimeoutMs = sideFileBusyTimeoutMs): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
