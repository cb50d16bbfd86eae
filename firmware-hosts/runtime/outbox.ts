/**
 * The device outbox: every settle request and outcome is written and fsynced
 * here before its first publish, and leaves only when a verified answer for
 * its requestId arrives. It also carries the two counters that must never go
 * backwards across a reboot: the per-device `seq` and the applied config
 * version.
 *
 * Format: one append-only file of lines `<sha256-16hex> <json>\n`. Why a log
 * and not one file per entry: an append costs one write and one fsync, where a
 * file per entry costs tmp write + fsync + rename + directory fsync, twice as
 * many flushes on an SD card, and removal would cost as much again. A line
 * whose checksum does not match (a torn last write, garbage) is skipped and
 * counted; it can never hide a complete line before or after it.
 *
 * I/O is synchronous on purpose: `append` returns only when the entry is on
 * disk, and two appends can never interleave.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { limits as protocolLimits } from '../../protocol/index.ts';
import { RuntimeError, checkIntegerOption } from './errors.ts';
import { sealedBytesMax } from './outbox-seal.ts';
import type { OutboxSeal } from './outbox-seal.ts';

export const outboxDefaults = {
  /** A busy gate sells ~1 tap/s; 1,000 pending entries is a quarter hour offline before it stops selling. */
  entriesMax: 1000,
  /** Pending bodies in total: 1,000 × ~1 KiB settle requests, with room. */
  bytesMax: 4 * 1024 * 1024,
  /** Compact once this many lines are dead (answered entries, counters, garbage): rewrites at most bytesMax, so it is bounded. */
  deadLinesCompactMin: 512,
} as const;
export type OutboxLimits = { -readonly [K in keyof typeof outboxDefaults]: number };

export const outboxKinds = ['settle', 'outcome', 'card', 'card-reversal'] as const;
export type OutboxKind = (typeof outboxKinds)[number];
/** Kinds whose body carries card data (claim 36): written to the file sealed (outbox-seal.ts), never plain. */
export const sealedKinds: ReadonlySet<OutboxKind> = new Set(['card']);

export interface OutboxEntry {
  /** The message's requestId: the key the answer names. */
  id: string;
  kind: OutboxKind;
  topic: string;
  /** The exact bytes published, every time: a resend is byte-identical. */
  body: string;
  seq: number;
}

const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Line = z.discriminatedUnion('k', [
  z.strictObject({ k: z.literal('put'), id: z.string().min(1).max(64), kind: z.enum(outboxKinds), topic: z.string().min(1).max(256), body: z.string().max(sealedBytesMax(protocolLimits.messageBytesMax)), seq: Seq }),
  z.strictObject({ k: z.literal('done'), id: z.string().min(1).max(64) }),
  z.strictObject({ k: z.literal('seq'), seq: Seq }),
  z.strictObject({ k: z.literal('config'), version: Seq }),
]);
type Line = z.infer<typeof Line>;

const checksum = (json: string): string => createHash('sha256').update(json).digest('hex').slice(0, 16);
const encodeLine = (line: Line): string => {
  const json = JSON.stringify(line);
  return `${checksum(json)} ${json}\n`;
};

function decodeLine(text: string): Line | null {
  if (text.length < 18 || text[16] !== ' ') return null;
  const json = text.slice(17);
  if (checksum(json) !== text.slice(0, 16)) return null;
  try {
    const parsed = Line.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export interface OutboxOpenOptions {
  path: string;
  limits?: Partial<OutboxLimits>;
  /** Seals the bodies of `sealedKinds` on disk; without it such entries are refused. */
  seal?: OutboxSeal;
}

export class Outbox {
  readonly limits: Readonly<OutboxLimits>;
  /** Lines skipped at open because their checksum or shape was wrong (torn writes, garbage). */
  readonly rejectedLines: number;
  /** Sealed entries found pending at open that could not be opened (another device key): their ids, for the host to undo (card reversals). */
  readonly unreadableSealed: readonly string[];
  private readonly path: string;
  private readonly seal: OutboxSeal | null;
  private readonly entries = new Map<string, OutboxEntry>();
  private pendingBytes = 0;
  private seqLast = -1;
  private configVersionApplied = 0;
  private deadLines = 0;
  private fd: number | null;

  static open(options: OutboxOpenOptions): Outbox {
    return new Outbox(options);
  }

  private constructor(options: OutboxOpenOptions) {
    const l = { ...outboxDefaults, ...options.limits };
    this.limits = {
      entriesMax: checkIntegerOption('limits.entriesMax', l.entriesMax, 1, 1_000_000),
      bytesMax: checkIntegerOption('limits.bytesMax', l.bytesMax, protocolLimits.messageBytesMax, 1024 ** 3),
      deadLinesCompactMin: checkIntegerOption('limits.deadLinesCompactMin', l.deadLinesCompactMin, 1, 1_000_000),
    };
    this.path = options.path;
    this.seal = options.seal ?? null;
    mkdirSync(dirname(this.path), { recursive: true });
    const text = existsSync(this.path) ? readFileSync(this.path, 'utf8') : '';
    const pieces = text.split('\n');
    // The last piece is whatever followed the last newline: empty, or a torn write.
    const tail = pieces.pop() ?? '';
    let rejected = tail.length > 0 ? 1 : 0;
    const unreadable = new Set<string>();
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      const line = decodeLine(piece);
      const plain = line === null ? null : this.opened(line);
      if (line?.k === 'done') unreadable.delete(line.id);
      if (plain !== null) this.apply(plain);
      else {
        rejected += 1;
        if (line?.k === 'put' && !this.entries.has(line.id)) unreadable.add(line.id);
      }
    }
    this.rejectedLines = rejected;
    this.unreadableSealed = [...unreadable];
    this.fd = null;
    // Rewrite a damaged file at once, so the next append never lands behind a torn line.
    if (rejected > 0 || this.deadLines >= this.limits.deadLinesCompactMin) this.compact();
    this.fd = openSync(this.path, 'a');
  }

  private apply(line: Line): void {
    switch (line.k) {
      case 'put':
        if (!this.entries.has(line.id)) {
          this.entries.set(line.id, { id: line.id, kind: line.kind, topic: line.topic, body: line.body, seq: line.seq });
          this.pendingBytes += Buffer.byteLength(line.body);
        }
        this.seqLast = Math.max(this.seqLast, line.seq);
        return;
      case 'done': {
        const entry = this.entries.get(line.id);
        if (entry !== undefined) {
          this.entries.delete(line.id);
          this.pendingBytes -= Buffer.byteLength(entry.body);
          // Its put line is dead now, as is this done line.
          this.deadLines += 1;
        }
        this.deadLines += 1;
        return;
      }
      case 'seq':
        this.seqLast = Math.max(this.seqLast, line.seq);
        this.deadLines += 1;
        return;
      case 'config':
        this.configVersionApplied = Math.max(this.configVersionApplied, line.version);
        this.deadLines += 1;
        return;
    }
  }

  /** A line as it goes to disk: the body of a sealed kind sealed. */
  private stored(line: Line): Line {
    if (line.k !== 'put' || !sealedKinds.has(line.kind)) return line;
    if (this.seal === null) throw new RuntimeError('TS_ERR_RUNTIME_BAD_OPTION', `${line.kind} entries carry card data: the outbox needs a seal key`);
    return { ...line, body: this.seal.seal(line.id, line.body) };
  }

  /** A line as read from disk, a sealed body opened; null when it cannot be. */
  private opened(line: Line): Line | null {
    if (line.k !== 'put' || !sealedKinds.has(line.kind)) return line;
    const body = this.seal?.open(line.id, line.body) ?? null;
    return body === null ? null : { ...line, body };
  }

  private write(line: Line, sync = true): void {
    if (this.fd === null) throw new RuntimeError('TS_ERR_RUNTIME_CLOSED', 'outbox used after close()');
    // The leading newline ends whatever a failed earlier write (ENOSPC, a power cut) left unterminated, so it can never swallow this line.
    writeSync(this.fd, `\n${encodeLine(this.stored(line))}`);
    if (sync) fsyncSync(this.fd);
    this.apply(line);
    if (this.deadLines >= this.limits.deadLinesCompactMin && this.deadLines > this.entries.size) this.compact();
  }

  /** Writes live entries and the counters to a new file: tmp + fsync + rename + directory fsync. */
  private compact(): void {
    const lines: Line[] = [];
    if (this.seqLast >= 0) lines.push({ k: 'seq', seq: this.seqLast });
    if (this.configVersionApplied > 0) lines.push({ k: 'config', version: this.configVersionApplied });
    for (const e of this.entries.values()) lines.push(this.stored({ k: 'put', ...e }));
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, lines.map(encodeLine).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (this.fd !== null) closeSync(this.fd);
    renameSync(tmp, this.path);
    const dirFd = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.deadLines = lines.length - this.entries.size;
    if (this.fd !== null) this.fd = openSync(this.path, 'a');
  }

  get depth(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.pendingBytes;
  }

  /** True when the next entry might not fit: the host stops selling and says so. */
  get isFull(): boolean {
    return this.entries.size >= this.limits.entriesMax || this.pendingBytes + protocolLimits.messageBytesMax > this.limits.bytesMax;
  }

  get lastSeq(): number {
    return this.seqLast;
  }

  get configVersion(): number {
    return this.configVersionApplied;
  }

  /** Pending entries, oldest first. */
  pending(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  get(id: string): OutboxEntry | undefined {
    return this.entries.get(id);
  }

  /**
   * Assigns the next seq, builds the body with it and makes it durable.
   * Refuses (coded) when full: a refused append consumes no seq.
   */
  append(id: string, kind: OutboxKind, topic: string, build: (seq: number) => string): OutboxEntry {
    if (this.entries.has(id)) throw new RuntimeError('TS_ERR_OUTBOX_DUPLICATE', `requestId ${id} is already pending`);
    if (sealedKinds.has(kind) && this.seal === null) throw new RuntimeError('TS_ERR_RUNTIME_BAD_OPTION', `${kind} entries carry card data: the outbox needs a seal key`);
    if (this.isFull) {
      throw new RuntimeError('TS_ERR_OUTBOX_FULL', `outbox full: ${this.entries.size}/${this.limits.entriesMax} entries, ${this.pendingBytes}/${this.limits.bytesMax} bytes`);
    }
    const seq = this.seqLast + 1;
    const body = build(seq);
    if (Buffer.byteLength(body) > protocolLimits.messageBytesMax) {
      throw new RuntimeError('TS_ERR_OUTBOX_TOO_LARGE', `body of ${id} is over ${protocolLimits.messageBytesMax} bytes`);
    }
    this.write({ k: 'put', id, kind, topic, body, seq });
    return this.entries.get(id)!;
  }

  /**
   * A seq for a message that is not kept (state, event). Written to the log so
   * it is not reused after a restart; fsynced unless `sync` is false, which
   * telemetry uses: its line reaches the disk with the next fsynced append, and
   * only a power cut before that could reuse a telemetry seq (the core then
   * counts one duplicate — never a lost settle request).
   */
  claimSeq(sync = true): number {
    const seq = this.seqLast + 1;
    this.write({ k: 'seq', seq }, sync);
    return seq;
  }

  /** Removes an answered entry. Unknown ids are ignored (a second delivery of the same answer). */
  remove(id: string): boolean {
    if (!this.entries.has(id)) return false;
    this.write({ k: 'done', id });
    return true;
  }

  /** Records the applied config version; lower or equal versions are a caller bug. */
  setConfigVersion(version: number): void {
    if (version <= this.configVersionApplied) throw new RangeError(`config version ${version} is not newer than ${this.configVersionApplied}`);
    this.write({ k: 'config', version });
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}
