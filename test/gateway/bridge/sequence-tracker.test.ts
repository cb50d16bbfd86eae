/** Per-device seq tracking (issue 5): gaps, out-of-order arrivals, duplicates and resends, in bounded memory. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SequenceTracker, seqWindowSize, sequenceFields } from '../../../gateway/bridge/sequence-tracker.ts';
import type { SeqVerdict } from '../../../gateway/bridge/sequence-tracker.ts';

const id = (n: number) => `req-${n}`;

describe('SequenceTracker', () => {
  it('takes the first seq as the baseline, then counts skipped numbers as gaps until they arrive', () => {
    const t = new SequenceTracker({}, () => 5);
    expect(t.observe('gate-1', 10, id(10))).toBe('baseline');
    expect(t.observe('gate-1', 11, id(11))).toBe('next');
    expect(t.observe('gate-1', 15, id(15))).toBe('gap');
    expect(t.view('gate-1')).toMatchObject({ lastSeq: 15, baselineSeq: 10, gaps: 3, missing: 3, since: 5 });
    expect(t.observe('gate-1', 13, id(13))).toBe('out-of-order');
    expect(t.view('gate-1')).toMatchObject({ lastSeq: 15, gaps: 3, missing: 2, outOfOrder: 1 });
    expect(t.totals()).toMatchObject({ devices: 1, gaps: 3, missing: 2, outOfOrder: 1, duplicates: 0, resends: 0 });
  });

  it('tells a resend (same seq, same request) from a duplicate (same seq, another message)', () => {
    const t = new SequenceTracker();
    t.observe('vm-1', 1, id(1));
    t.observe('vm-1', 2, id(2));
    t.observe('vm-1', 3, id(3));
    expect(t.observe('vm-1', 2, id(2))).toBe('resend');
    expect(t.observe('vm-1', 3, id(3))).toBe('resend');
    expect(t.observe('vm-1', 2, 'another')).toBe('duplicate');
    expect(t.view('vm-1')).toMatchObject({ lastSeq: 3, gaps: 0, missing: 0, resends: 2, duplicates: 1 });
  });

  it('counts a resend of something sent before the baseline as a resend, and one older than the window as a duplicate', () => {
    const t = new SequenceTracker();
    t.observe('vm-1', 100, id(100));
    expect(t.observe('vm-1', 97, id(97))).toBe('resend');
    t.observe('vm-1', 100 + seqWindowSize + 5, id(0));
    expect(t.observe('vm-1', 101, id(101))).toBe('duplicate');
    expect(t.view('vm-1')).toMatchObject({ resends: 1, duplicates: 1, gaps: seqWindowSize + 4 });
  });

  it('counts messages without a seq apart (the last will) and keeps devices apart', () => {
    const t = new SequenceTracker();
    expect(t.observe('kiosk-1', null, '')).toBe('unsequenced');
    expect(t.view('kiosk-1')).toBeUndefined();
    t.observe('kiosk-1', 7, id(7));
    t.observe('kiosk-2', 7, id(7));
    t.observe('kiosk-1', null, '');
    expect(t.view('kiosk-1')?.unsequenced).toBe(1);
    expect(t.view('kiosk-2')).toMatchObject({ lastSeq: 7, unsequenced: 0 });
    expect(t.totals()).toMatchObject({ devices: 2, unsequenced: 2 });
  });

  it('keeps at most devicesMax records, dropping the one seen least recently, which starts a new baseline', () => {
    const t = new SequenceTracker({ devicesMax: 2 });
    t.observe('a', 1, id(1));
    t.observe('b', 1, id(1));
    t.observe('a', 5, id(5)); // a: 3 missing; b is now the least recent
    t.observe('c', 1, id(1));
    expect(t.view('b')).toBeUndefined();
    expect(t.totals()).toMatchObject({ devices: 2, evicted: 1, missing: 3 });
    t.observe('d', 1, id(1));
    expect(t.view('a')).toBeUndefined();
    expect(t.totals()).toMatchObject({ devices: 2, evicted: 2, missing: 0, gaps: 3 });
    expect(t.observe('a', 9, id(9))).toBe('baseline');
    expect(() => new SequenceTracker({ devicesMax: 0 })).toThrow(/devicesMax/);
  });

  it('reads seq and requestId from a body without trusting it', () => {
    expect(sequenceFields(Buffer.from('{"seq":4,"requestId":"r"}'))).toEqual({ seq: 4, requestId: 'r' });
    expect(sequenceFields('{"seq":-1,"requestId":5}')).toEqual({ seq: null, requestId: '' });
    expect(sequenceFields('{"seq":1.5}')).toEqual({ seq: null, requestId: '' });
    expect(sequenceFields('not json')).toEqual({ seq: null, requestId: '' });
    expect(sequenceFields('null')).toEqual({ seq: null, requestId: '' });
    expect(sequenceFields(`{"seq":${2 ** 60},"requestId":"${'x'.repeat(500)}"}`)).toEqual({ seq: null, requestId: 'x'.repeat(64) });
  });

  it('keeps its counts consistent whatever arrives (fuzzed)', () => {
    const verdicts: readonly SeqVerdict[] = ['baseline', 'next', 'gap', 'resend', 'out-of-order', 'duplicate', 'unsequenced'];
    fc.assert(fc.property(
      fc.array(fc.record({ device: fc.constantFrom('a', 'b', 'c'), seq: fc.option(fc.nat(200)), request: fc.nat(5) }), { maxLength: 300 }),
      (messages) => {
        const t = new SequenceTracker({ devicesMax: 2 });
        const count: Record<string, number> = {};
        for (const m of messages) {
          const v = t.observe(m.device, m.seq, id(m.request));
          expect(verdicts).toContain(v);
          count[v] = (count[v] ?? 0) + 1;
        }
        const totals = t.totals();
        expect(totals.devices).toBeLessThanOrEqual(2);
        expect(totals.resends).toBe(count.resend ?? 0);
        expect(totals.duplicates).toBe(count.duplicate ?? 0);
        expect(totals.outOfOrder).toBe(count['out-of-order'] ?? 0);
        expect(totals.unsequenced).toBe(count.unsequenced ?? 0);
        expect(totals.missing).toBeGreaterThanOrEqual(0);
        expect(totals.missing).toBeLessThanOrEqual(totals.gaps);
        let missing = 0;
        for (const d of ['a', 'b', 'c']) {
          const v = t.view(d);
          if (v === undefined) continue;
          expect(v.missing).toBeGreaterThanOrEqual(0);
          expect(v.missing).toBeLessThanOrEqual(v.gaps);
          missing += v.missing;
        }
        expect(totals.missing).toBe(missing);
      },
    ));
  });
});
