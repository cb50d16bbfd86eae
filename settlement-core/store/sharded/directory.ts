/**
 * The directory (claims 19–21): which database server holds a user's data
 * file (account, balance, history), found from branch + account number. It is
 * a table — branch ranges → server, with per-account overrides, and the set
 * of hot accounts (claims 22–23), and the servers an account was moved away
 * from (move.ts; its old file stays there as history) — persisted in a small
 * SQLite file of its own and validated whenever it is loaded or changed.
 * Branch 000 (system accounts) is on every server and is not routed.
 */
import { openDurableFile } from '../sqlite/durable-file.ts';
import type { Database as Db } from 'better-sqlite3';
import { z } from 'zod';
import { parseAccountId } from '../../../protocol/index.ts';
import { ShardedStoreError } from './errors.ts';
import { serversMax } from './ids.ts';

const branchMin = 1;
const branchMax = 999;

const ServerName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a server name is 1–32 of a-z 0-9 _ - and starts with a letter or digit');
const UserAccountId = z.string().regex(/^\d{3}-\d{7}$/, 'expected an account id BBB-NNNNNNN').refine((id) => (parseAccountId(id)?.branch ?? 0) >= branchMin, 'branch 000 holds system accounts and is on every server');

export const DirectoryConfig = z.strictObject({
  servers: z.array(z.strictObject({ name: ServerName })).min(1).max(serversMax),
  /** Inclusive branch ranges; together they must cover 001–999 exactly once. */
  ranges: z.array(z.strictObject({ from: z.number().int().min(branchMin).max(branchMax), to: z.number().int().min(branchMin).max(branchMax), server: z.number().int().min(0) })).min(1).max(branchMax),
  /** Accounts that live elsewhere than their branch's range says. */
  overrides: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Hot accounts (claims 22–23): main file on the home server, an auxiliary file on every other. */
  hot: z.array(UserAccountId).default([]),
  /** Accounts moved to another server (move.ts): the servers that keep their earlier files (history, balance 0). */
  former: z.record(z.string(), z.array(z.number().int().min(0)).min(1).max(serversMax)).default({}),
});
export type DirectoryConfig = z.input<typeof DirectoryConfig>;
type Parsed = z.output<typeof DirectoryConfig>;

function invalid(message: string): ShardedStoreError {
  return new ShardedStoreError('TS_ERR_DIRECTORY_INVALID', `directory: ${message}`);
}

/** Parses and checks a directory; throws TS_ERR_DIRECTORY_INVALID naming the first problem. */
export function validateDirectory(input: unknown): Parsed {
  const parsed = DirectoryConfig.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const d = parsed.data;
  const names = new Set(d.servers.map((s) => s.name));
  if (names.size !== d.servers.length) throw invalid('server names must be unique');
  const owner = new Array<number | undefined>(branchMax + 1);
  for (const r of d.ranges) {
    if (r.from > r.to) throw invalid(`range ${r.from}–${r.to} runs backwards`);
    if (r.server >= d.servers.length) throw invalid(`range ${r.from}–${r.to} names server ${r.server}, there are ${d.servers.length}`);
    for (let b = r.from; b <= r.to; b += 1) {
      if (owner[b] !== undefined) throw invalid(`branch ${b} is in two ranges`);
      owner[b] = r.server;
    }
  }
  for (let b = branchMin; b <= branchMax; b += 1) if (owner[b] === undefined) throw invalid(`branch ${String(b).padStart(3, '0')} is in no range`);
  for (const [account, server] of Object.entries(d.overrides)) {
    const id = UserAccountId.safeParse(account);
    if (!id.success) throw invalid(`override ${JSON.stringify(account)}: ${id.error.issues[0]!.message}`);
    if (server >= d.servers.length) throw invalid(`override ${account} names server ${server}, there are ${d.servers.length}`);
  }
  if (new Set(d.hot).size !== d.hot.length) throw invalid('an account is listed hot twice');
  for (const [account, servers] of Object.entries(d.former)) {
    const id = UserAccountId.safeParse(account);
    if (!id.success) throw invalid(`former files of ${JSON.stringify(account)}: ${id.error.issues[0]!.message}`);
    if (new Set(servers).size !== servers.length) throw invalid(`former files of ${account}: a server listed twice`);
    const home = d.overrides[account] ?? owner[parseAccountId(account)!.branch]!;
    for (const server of servers) {
      if (server >= d.servers.length) throw invalid(`former files of ${account} name server ${server}, there are ${d.servers.length}`);
      if (server === home) throw invalid(`former files of ${account} name its home server ${server}`);
    }
    if (d.hot.includes(account)) throw invalid(`${account} is hot and has former files: a hot account is not moved`);
  }
  return d;
}

/** The directory in memory: one lookup table per branch, overrides and hot accounts as sets. */
export class Directory {
  private readonly byBranch: Int16Array;
  private readonly overrides: Map<string, number>;
  private readonly hotSet: Set<string>;
  private readonly formerMap: Map<string, number[]>;
  readonly serverNames: readonly string[];

  private constructor(private readonly config: Parsed, private readonly db: Db | null) {
    this.byBranch = new Int16Array(branchMax + 1).fill(-1);
    for (const r of config.ranges) for (let b = r.from; b <= r.to; b += 1) this.byBranch[b] = r.server;
    this.overrides = new Map(Object.entries(config.overrides));
    this.hotSet = new Set(config.hot);
    this.formerMap = new Map(Object.entries(config.former));
    this.serverNames = config.servers.map((s) => s.name);
  }

  /** A directory held only in memory (tests, one-off tools). */
  static fromConfig(input: unknown): Directory {
    return new Directory(validateDirectory(input), null);
  }

  /**
   * Opens the directory file at `path`. A new file is written from `initial`;
   * an existing file is loaded and validated, and `initial`, if given, must
   * describe the same servers (names in order): a file is never silently
   * re-pointed at other servers.
   */
  static open(path: string, initial?: DirectoryConfig): Directory {
    const db = openDurableFile(path);
    try {
      db.exec(`CREATE TABLE IF NOT EXISTS directory_servers (idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE IF NOT EXISTS directory_ranges (branch_from INTEGER NOT NULL, branch_to INTEGER NOT NULL, server INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS directory_overrides (account TEXT PRIMARY KEY, server INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS directory_hot (account TEXT PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS directory_former (account TEXT NOT NULL, server INTEGER NOT NULL, PRIMARY KEY (account, server));`);
      const servers = db.prepare('SELECT name FROM directory_servers ORDER BY idx').all() as { name: string }[];
      if (servers.length === 0) {
        if (!initial) throw invalid(`${path} is empty and no initial directory was given`);
        const parsed = validateDirectory(initial);
        Directory.write(db, parsed);
        return new Directory(parsed, db);
      }
      const stored = validateDirectory({
        servers,
        ranges: (db.prepare('SELECT branch_from AS "from", branch_to AS "to", server FROM directory_ranges ORDER BY branch_from').all()),
        overrides: Object.fromEntries((db.prepare('SELECT account, server FROM directory_overrides').all() as { account: string; server: number }[]).map((r) => [r.account, r.server])),
        hot: (db.prepare('SELECT account FROM directory_hot ORDER BY account').all() as { account: string }[]).map((r) => r.account),
        former: Directory.readFormer(db),
      });
      if (initial) {
        const wanted = validateDirectory(initial).servers.map((s) => s.name).join(',');
        const have = stored.servers.map((s) => s.name).join(',');
        if (wanted !== have) throw invalid(`${path} names servers [${have}], the configuration [${wanted}]`);
      }
      return new Directory(stored, db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private static readFormer(db: Db): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const r of db.prepare('SELECT account, server FROM directory_former ORDER BY account, server').all() as { account: string; server: number }[]) (out[r.account] ??= []).push(r.server);
    return out;
  }

  private static write(db: Db, d: Parsed): void {
    db.transaction(() => {
      db.exec('DELETE FROM directory_servers; DELETE FROM directory_ranges; DELETE FROM directory_overrides; DELETE FROM directory_hot; DELETE FROM directory_former;');
      const server = db.prepare('INSERT INTO directory_servers (idx, name) VALUES (?, ?)');
      d.servers.forEach((s, i) => server.run(i, s.name));
      const range = db.prepare('INSERT INTO directory_ranges (branch_from, branch_to, server) VALUES (?, ?, ?)');
      for (const r of d.ranges) range.run(r.from, r.to, r.server);
      const override = db.prepare('INSERT INTO directory_overrides (account, server) VALUES (?, ?)');
      for (const [a, s] of Object.entries(d.overrides)) override.run(a, s);
      const hot = db.prepare('INSERT INTO directory_hot (account) VALUES (?)');
      for (const a of d.hot) hot.run(a);
      const former = db.prepare('INSERT INTO directory_former (account, server) VALUES (?, ?)');
      for (const [a, servers] of Object.entries(d.former)) for (const s of servers) former.run(a, s);
    })();
  }

  get serverCount(): number {
    return this.serverNames.length;
  }

  /** The server holding a user account's data file (its main file, if hot); null for branch 000 (on every server) and for ids that are not account ids. */
  serverFor(accountId: string): number | null {
    const override = this.overrides.get(accountId);
    if (override !== undefined) return override;
    const p = parseAccountId(accountId);
    if (p === null || p.branch === 0) return null;
    return this.byBranch[p.branch]!;
  }

  isHot(accountId: string): boolean {
    return this.hotSet.has(accountId);
  }

  get hotAccounts(): readonly string[] {
    return [...this.hotSet].sort();
  }

  /** Servers that keep an earlier file of this account (it was moved away from them): history, balance 0. */
  formerServers(accountId: string): readonly number[] {
    return this.formerMap.get(accountId) ?? [];
  }

  /** Accounts that have former files (move.ts finishes their moves on start). */
  get movedAccounts(): readonly string[] {
    return [...this.formerMap.keys()].sort();
  }

  /** The directory as a config object (what the file holds). */
  toConfig(): Parsed {
    return { ...this.config, overrides: Object.fromEntries(this.overrides), hot: this.hotAccounts.slice(), former: Object.fromEntries([...this.formerMap].map(([a, s]) => [a, s.slice()])) };
  }

  /** Validates and persists a changed directory; the in-memory tables change only once the file has. */
  private commit(next: Parsed): void {
    const checked = validateDirectory(next);
    if (this.db) Directory.write(this.db, checked);
    this.overrides.clear();
    for (const [a, s] of Object.entries(checked.overrides)) this.overrides.set(a, s);
    this.hotSet.clear();
    for (const a of checked.hot) this.hotSet.add(a);
    this.formerMap.clear();
    for (const [a, servers] of Object.entries(checked.former)) this.formerMap.set(a, servers);
  }

  /** Places one account on `server` (the caller checks it has no data elsewhere). */
  setOverride(accountId: string, server: number): void {
    if (!Number.isInteger(server) || server < 0 || server >= this.serverCount) {
      throw new ShardedStoreError('TS_ERR_DIRECTORY_UNKNOWN_SERVER', `directory: no server ${String(server)} (there are ${this.serverCount})`);
    }
    this.commit({ ...this.toConfig(), overrides: { ...Object.fromEntries(this.overrides), [accountId]: server } });
  }

  /** Re-homes an account that has data: `to` becomes its server, its current one keeps its earlier file (move.ts moves the balance). */
  moveAccount(accountId: string, to: number): void {
    const from = this.serverFor(accountId);
    if (from === null) throw invalid(`${JSON.stringify(accountId)} is not a user account id`);
    if (!Number.isInteger(to) || to < 0 || to >= this.serverCount) {
      throw new ShardedStoreError('TS_ERR_DIRECTORY_UNKNOWN_SERVER', `directory: no server ${String(to)} (there are ${this.serverCount})`);
    }
    const former = [...new Set([...this.formerServers(accountId), from])].filter((s) => s !== to).sort((a, b) => a - b);
    const { [accountId]: _none, ...others } = Object.fromEntries(this.formerMap);
    this.commit({
      ...this.toConfig(), overrides: { ...Object.fromEntries(this.overrides), [accountId]: to },
      former: former.length > 0 ? { ...others, [accountId]: former } : others,
    });
  }

  markHot(accountId: string): void {
    if (this.hotSet.has(accountId)) return;
    this.commit({ ...this.toConfig(), hot: [...this.hotSet, accountId] });
  }

  serverIndex(name: string): number {
    const i = this.serverNames.indexOf(name);
    if (i < 0) throw new ShardedStoreError('TS_ERR_DIRECTORY_UNKNOWN_SERVER', `directory: no server named ${JSON.stringify(name)}`);
    return i;
  }

  close(): void {
    this.db?.close();
  }
}
