import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../settlement-core/group-commit.ts';

interface Cmd { id: number; solo?: boolean }

describe('group commit', () => {
  it('batches what arrives together, bounded by batchSizeMax, one batch at a time', async () => {
    const batches: number[][] = [];
    let running = 0;
    const gc = new GroupCommitter<Cmd>({ batchSizeMax: 4, queueLengthMax: 100, lingerMs: 0 }, async (batch) => {
      running += 1;
      expect(running).toBe(1);
      batches.push(batch.map((c) => c.id));
      await new Promise((r) => setTimeout(r, 2));
      running -= 1;
    }, (c) => c.solo === true);
    for (let i = 0; i < 10; i += 1) gc.submit({ id: i });
    await gc.idle();
    expect(batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('runs a solo command in a batch of its own, in order', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommitter<Cmd>({ batchSizeMax: 10, queueLengthMax: 100, lingerMs: 0 }, (batch) => {
      batches.push(batch.map((c) => c.id));
      return Promise.resolve();
    }, (c) => c.solo === true);
    gc.submit({ id: 1 });
    gc.submit({ id: 2 });
    gc.submit({ id: 3, solo: true });
    gc.submit({ id: 4 });
    await gc.idle();
    expect(batches).toEqual([[1, 2], [3], [4]]);
  });

  it('refuses past queueLengthMax with TS_ERR_OVERLOADED and takes work again once drained', async () => {
    const gc = new GroupCommitter<Cmd>({ batchSizeMax: 10, queueLengthMax: 3, lingerMs: 0 }, () => Promise.resolve(), () => false);
    gc.submit({ id: 1 });
    gc.submit({ id: 2 });
    gc.submit({ id: 3 });
    expect(() => gc.submit({ id: 4 })).toThrow(expect.objectContaining({ code: 'TS_ERR_OVERLOADED' }) as Error);
    expect(gc.depth).toBe(3);
    await gc.idle();
    expect(gc.depth).toBe(0);
    expect(() => gc.submit({ id: 5 })).not.toThrow();
    await gc.idle();
  });

  it('validates its limits', () => {
    expect(() => new GroupCommitter<Cmd>({ batchSizeMax: 0, queueLengthMax: 3, lingerMs: 0 }, () => Promise.resolve(), () => false)).toThrow(/batchSizeMax/);
    expect(() => new GroupCommitter<Cmd>({ batchSizeMax: 1, queueLengthMax: 1.5, lingerMs: 0 }, () => Promise.resolve(), () => false)).toThrow(/queueLengthMax/);
  });

  it('waits lingerMs for company when asked to', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommitter<Cmd>({ batchSizeMax: 10, queueLengthMax: 100, lingerMs: 20 }, (batch) => {
      batches.push(batch.map((c) => c.id));
      return Promise.resolve();
    }, () => false);
    gc.submit({ id: 1 });
    await new Promise((r) => setTimeout(r, 5));
    gc.submit({ id: 2 });
    await gc.idle();
    expect(batches).toEqual([[1, 2]]);
  });
});
