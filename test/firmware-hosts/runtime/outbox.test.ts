/**
 * The outbox on a real file system: what survives a reopen, what a torn or
 * garbled file does (never a throw, never a lost complete entry), and the
 * bounds that stop a device from selling.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../firmware-hosts/runtime/outbox.ts';
import type { OutboxEntry } from '../../../firmware-hosts/runtime/outbox.ts';
import { RuntimeError } from '../../../firmware-hosts/runtime/errors.ts';
import { uuidv7 } from '../../../protocol/index.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function outboxPath(): string {
  const d = tempDir('tapsettle-outbox-');
  dirs.push(d);
  return join(d.dir, 'outbox.log');
}

const bodyFor = (id: string) => (seq: number) => JSON.stringify({ requestId: id, seq, pad: 'x'.repeat(40) });
function appendN(box: Outbox, n: number): OutboxEntry[] {
  return Array.from({ length: n }, () => {
    const id = uuidv7();
    return box.append(id, 'settle', 'tapsettle/v1/dev/d1/settle', bodyFor(id));
  });
}

describe('Outbox', () => {
  it('keeps pending entries, in order and byte for byte, across a reopen; answered ones are gone', () => {
    const path = outboxPath();
    const box = Outbox.open({ path });
    const written = appendN(box, 5);
    expect(box.remove(written[1]!.id)).toBe(true);
    expect(box.remove(written[1]!.id)).toBe(false);
    box.close();
    const again = Outbox.open({ path });
    expect(again.pending()).toEqual([written[0], written[2], written[3], written[4]]);
    expect(again.lastSeq).toBe(4);
    expect(written.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    again.close();
  });

  it('never hands out a seq twice, even after every entry is answered and the file compacted', () => {
    const path = outboxPath();
    const box = Outbox.open({ path, limits: { deadLinesCompactMin: 4 } });
    for (const e of appendN(box, 6)) box.remove(e.id);
    expect(box.claimSeq()).toBe(6);
    box.setConfigVersion(7);
    box.close();
    // Compaction left only the counters.
    expect(readFileSync(path, 'utf8').split('\n').length).toBeLessThan(6);
    const again = Outbox.open({ path });
    expect(again.depth).toBe(0);
    expect(again.configVersion).toBe(7);
    expect(appendN(again, 1)[0]!.seq).toBe(7);
    expect(() => again.setConfigVersion(7)).toThrow(RangeError);
    again.close();
  });

  it('refuses with TS_ERR_OUTBOX_FULL when entriesMax is reached, says isFull, and takes again once drained', () => {
    const box = Outbox.open({ path: outboxPath(), limits: { entriesMax: 3 } });
    const written = appendN(box, 3);
    expect(box.isFull).toBe(true);
    const err = (() => {
      try {
        appendN(box, 1);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('TS_ERR_OUTBOX_FULL');
    expect(box.lastSeq).toBe(2);
    box.remove(written[0]!.id);
    expect(box.isFull).toBe(false);
    expect(appendN(box, 1)[0]!.seq).toBe(3);
    box.close();
  });

  it('is full by bytes too (bytesMax leaves room for one more largest message)', () => {
    const box = Outbox.open({ path: outboxPath(), limits: { bytesMax: 4096 + 200 } });
    appendN(box, 2);
    expect(box.isFull).toBe(true);
    expect(() => appendN(box, 1)).toThrow(/outbox full/);
    box.close();
  });

  it('refuses a requestId that is already pending', () => {
    const box = Outbox.open({ path: outboxPath() });
    const [e] = appendN(box, 1);
    expect(() => box.append(e!.id, 'settle', e!.topic, bodyFor(e!.id))).toThrow(expect.objectContaining({ code: 'TS_ERR_OUTBOX_DUPLICATE' }));
    box.close();
  });

  it('a torn last line is ignored, the file is repaired, and later appends survive', () => {
    const path = outboxPath();
    const box = Outbox.open({ path });
    const written = appendN(box, 2);
    box.close();
    appendFileSync(path, '0123456789abcdef {"k":"put","id":"torn');
    const again = Outbox.open({ path });
    expect(again.rejectedLines).toBe(1);
    expect(again.pending()).toEqual(written);
    const more = appendN(again, 1);
    again.close();
    expect(Outbox.open({ path }).pending()).toEqual([...written, ...more]);
  });

  it('a partial write left behind while open (a failed write) cannot swallow the next entry', () => {
    const path = outboxPath();
    const box = Outbox.open({ path });
    const before = appendN(box, 1);
    appendFileSync(path, '0123456789abcdef {"k":"put","id":"half-writ');
    const after = appendN(box, 1);
    box.close();
    const again = Outbox.open({ path });
    expect(again.rejectedLines).toBe(1);
    expect(again.pending()).toEqual([...before, ...after]);
    again.close();
  });

  it('garbage lines and a torn tail never throw and never lose a complete entry (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.tuple(fc.nat(6), fc.string({ maxLength: 60 }).map((s) => s.replaceAll('\n', ''))), { maxLength: 5 }),
        fc.nat(200),
        (count, garbage, tornAt) => {
          const path = outboxPath();
          const box = Outbox.open({ path });
          const written = appendN(box, count);
          box.close();
          const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
          for (const [at, junk] of garbage) lines.splice(Math.min(at, lines.length), 0, junk);
          const torn = `0123456789abcdef {"k":"put"`.slice(0, tornAt % 28);
          writeFileSync(path, lines.map((l) => `${l}\n`).join('') + torn);
          const again = Outbox.open({ path });
          expect(again.pending()).toEqual(written);
          again.close();
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });

  it('validates its limits by name', () => {
    expect(() => Outbox.open({ path: outboxPath(), limits: { entriesMax: 0 } })).toThrow(/limits\.entriesMax/);
  });
});
