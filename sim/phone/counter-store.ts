/**
 * Where the phone keeps its wallet counter. The counter is what makes every
 * cryptogram unique (the core refuses a counter it has seen, DESIGN §5), so a
 * value is durable on disk before any cryptogram that uses it leaves the
 * phone: write a temporary file, fsync it, rename it over the old one, fsync
 * the directory. A crash leaves either the old or the new counter, never a
 * torn file; at worst one value is skipped, which the core accepts.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { limits, WalletId } from '../../protocol/index.ts';
import { PhoneError } from './errors.ts';

export interface CounterStore {
  /** The last counter value used (0 = none yet). */
  load(): Promise<number>;
  /** Makes `counter` durable; resolves only once it is. */
  save(counter: number): Promise<void>;
}

/** For tests and throw-away simulations: forgets everything on exit. */
export class MemoryCounterStore implements CounterStore {
  private counter: number;
  constructor(initialCounter = 0) {
    this.counter = initialCounter;
  }
  load(): Promise<number> {
    return Promise.resolve(this.counter);
  }
  save(counter: number): Promise<void> {
    this.counter = counter;
    return Promise.resolve();
  }
}

/** The file holds `{"v":1,"walletId":…,"counter":…}`: ~90 bytes; anything past 1 KiB is not ours. */
export const counterFileBytesMax = 1024;

const CounterFile = z.strictObject({
  v: z.literal(1),
  walletId: WalletId,
  counter: z.number().int().min(0).max(limits.walletCounterMax),
});

export class FileCounterStore implements CounterStore {
  readonly path: string;
  private readonly walletId: string;
  private readonly initialCounter: number;

  constructor(path: string, walletId: string, initialCounter = 0) {
    this.path = path;
    this.walletId = walletId;
    this.initialCounter = initialCounter;
  }

  async load(): Promise<number> {
    const text = await this.readBounded();
    if (text === null) return this.initialCounter;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new PhoneError('TS_ERR_PHONE_COUNTER_FILE', `${this.path}: not JSON`, { cause: err });
    }
    const parsed = CounterFile.safeParse(body);
    if (!parsed.success) throw new PhoneError('TS_ERR_PHONE_COUNTER_FILE', `${this.path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    // Another wallet's counter would let this wallet replay values the core has never seen for it; refuse rather than guess.
    if (parsed.data.walletId !== this.walletId) throw new PhoneError('TS_ERR_PHONE_COUNTER_FILE', `${this.path} belongs to wallet ${parsed.data.walletId}`);
    return parsed.data.counter;
  }

  async save(counter: number): Promise<void> {
    const body = JSON.stringify(CounterFile.parse({ v: 1, walletId: this.walletId, counter }));
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(body, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    // The rename itself lives in the directory: sync it too, or a power cut may undo it.
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private async readBounded(): Promise<string | null> {
    let file;
    try {
      file = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new PhoneError('TS_ERR_PHONE_COUNTER_FILE', `${this.path}: cannot open`, { cause: err });
    }
    try {
      const buffer = Buffer.alloc(counterFileBytesMax + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, 0);
      if (bytesRead > counterFileBytesMax) throw new PhoneError('TS_ERR_PHONE_COUNTER_FILE', `${this.path}: larger than ${counterFileBytesMax} bytes`);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  }
}
