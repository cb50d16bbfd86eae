/**
 * Per-device sequence numbers (issue 5): every settle, outcome, state and
 * event body a device publishes carries `seq`, one counter per device,
 * strictly increasing and kept on the device across reboots; a resend of an
 * outbox entry carries the entry's seq; the last will carries none. The
 * gateway tracks, per device, what arrived in the order it arrived:
 *
 * - the first seq seen after the gateway starts is the baseline (nothing
 *   before it is judged);
 * - a seq above the last one: the numbers skipped are `gaps` (and `missing`
 *   until they arrive);
 * - a seq at or below the last one that was already seen with the same
 *   requestId: a `resend` (normal: the device heard no answer);
 * - one not seen before that fills a hole: `outOfOrder` (one fewer missing);
 * - one already seen with another requestId, or too old to tell (below the
 *   window), or reused: a `duplicate`;
 * - a seq below the baseline: a `resend` of something sent before the
 *   gateway started (the device's outbox resends what it never heard about).
 *
 * Memory is one small record per device: the last seq, the counters, and a
 * window of the last `seqWindowSize` seqs (seen or not, and a 32-bit hash of
 * the requestId each was seen with). At most `devicesMax` records; when full
 * the record seen least recently is dropped and that device starts a new
 * baseline on its next message.
 */

export interface SequenceLimits {
  /**
   * Devices tracked at once (~600 bytes each: the window is 256). Twice a node's 10,000-device
   * sizing (the broker's clientsMax), so replaced and revoked devices do not
   * push live ones out.
   */
  devicesMax: number;
}

export const defaultSequenceLimits: SequenceLimits = { devicesMax: 20_000 };

/**
 * Seqs remembered per device, below the last one: covers the outbox entries
 * in flight when a connection drops (resent after the reconnect) and the
 * state and events published before them. An arrival older than this cannot
 * be told from a duplicate and is counted as one.
 */
export const seqWindowSize = 64;

export type SeqVerdict = 'baseline' | 'next' | 'gap' | 'resend' | 'out-of-order' | 'duplicate' | 'unsequenced';

/** The counts kept per device and summed over all devices. */
export interface SequenceCounts {
  /** Numbers skipped so far. */
  gaps: number;
  /** Skipped numbers that have not arrived (yet). */
  missing: number;
  outOfOrder: number;
  duplicates: number;
  resends: number;
  /** Messages without a seq (last wills, older firmware). */
  unsequenced: number;
}

/** What the admin view shows of one device. */
export interface DeviceSequenceView extends SequenceCounts {
  lastSeq: number;
  /** The first seq seen since the gateway started. */
  baselineSeq: number;
  /** When the baseline was taken and when the last message arrived (epoch ms). */
  since: number;
  lastAt: number;
}

export interface SequenceTotals extends SequenceCounts {
  devices: number;
  /** Records dropped because devicesMax was reached. */
  evicted: number;
}

interface DeviceRecord extends DeviceSequenceView {
  /** For each seq of the window, at seq % W: 0 if it has not arrived, else its requestId's hash (never 0). */
  window: Uint32Array;
}

/** FNV-1a, 31 bits and never 0: enough to tell a resend from another message with the same seq (a collision needs 1 in 2 billion). */
function hash31(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h | 1) >>> 0;
}

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** `seq` and `requestId` of a body, if it has them in their form; a body that is not JSON has neither. */
export function sequenceFields(payload: Buffer | string): { seq: number | null; requestId: string } {
  try {
    const body = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null) return { seq: null, requestId: '' };
    const { seq, requestId } = body as { seq?: unknown; requestId?: unknown };
    return { seq: isSeq(seq) ? seq : null, requestId: typeof requestId === 'string' ? requestId.slice(0, 64) : '' };
  } catch {
    return { seq: null, requestId: '' };
  }
}

export class SequenceTracker {
  readonly limits: SequenceLimits;
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly sums: Omit<SequenceTotals, 'devices'> = { gaps: 0, missing: 0, outOfOrder: 0, duplicates: 0, resends: 0, unsequenced: 0, evicted: 0 };

  constructor(limits: Partial<SequenceLimits> = {}, private readonly clock: () => number = Date.now) {
    this.limits = { ...defaultSequenceLimits, ...limits };
    if (!Number.isSafeInteger(this.limits.devicesMax) || this.limits.devicesMax < 1) throw new RangeError(`devicesMax must be an integer ≥ 1, got ${String(this.limits.devicesMax)}`);
  }

  /** One message of `deviceId`, in arrival order. */
  observe(deviceId: string, seq: number | null, requestId: string): SeqVerdict {
    const now = this.clock();
    const r = this.devices.get(deviceId);
    if (r !== undefined) {
      // Least recently seen first: move to the end of the map's order.
      this.devices.delete(deviceId);
      this.devices.set(deviceId, r);
      r.lastAt = now;
    }
    if (seq === null) {
      this.sums.unsequenced += 1;
      if (r !== undefined) r.unsequenced += 1;
      return 'unsequenced';
    }
    if (r === undefined) {
      this.add(deviceId, this.newRecord(seq, requestId, now));
      return 'baseline';
    }
    if (seq > r.lastSeq) return this.advance(r, seq, requestId);
    return this.behind(r, seq, requestId);
  }

  view(deviceId: string): DeviceSequenceView | undefined {
    const r = this.devices.get(deviceId);
    if (r === undefined) return undefined;
    const { window: _window, ...view } = r;
    return view;
  }

  totals(): SequenceTotals {
    return { devices: this.devices.size, ...this.sums };
  }

  private newRecord(seq: number, requestId: string, now: number): DeviceRecord {
    const r: DeviceRecord = {
      lastSeq: seq, baselineSeq: seq, gaps: 0, missing: 0, outOfOrder: 0, duplicates: 0, resends: 0, unsequenced: 0, since: now, lastAt: now,
      window: new Uint32Array(seqWindowSize),
    };
    this.mark(r, seq, requestId);
    return r;
  }

  private add(deviceId: string, r: DeviceRecord): void {
    if (this.devices.size >= this.limits.devicesMax) {
      const [oldest, dropped] = this.devices.entries().next().value!;
      this.devices.delete(oldest);
      this.sums.missing -= dropped.missing;
      this.sums.evicted += 1;
    }
    this.devices.set(deviceId, r);
  }

  private mark(r: DeviceRecord, seq: number, requestId: string): void {
    r.window[seq % seqWindowSize] = hash31(requestId);
  }

  private advance(r: DeviceRecord, seq: number, requestId: string): SeqVerdict {
    const skipped = seq - r.lastSeq - 1;
    // The slots of the numbers that leave the window are reused: clear them, counting those still missing as given up on.
    for (let s = r.lastSeq + 1; s <= Math.min(seq, r.lastSeq + seqWindowSize); s += 1) r.window[s % seqWindowSize] = 0;
    r.lastSeq = seq;
    this.mark(r, seq, requestId);
    r.gaps += skipped;
    r.missing += skipped;
    this.sums.gaps += skipped;
    this.sums.missing += skipped;
    return skipped > 0 ? 'gap' : 'next';
  }

  private behind(r: DeviceRecord, seq: number, requestId: string): SeqVerdict {
    const seen = r.window[seq % seqWindowSize]!;
    if (seq < r.baselineSeq) return this.count(r, 'resends', 'resend');
    if (r.lastSeq - seq >= seqWindowSize) return this.count(r, 'duplicates', 'duplicate');
    if (seen !== 0) return seen === hash31(requestId) ? this.count(r, 'resends', 'resend') : this.count(r, 'duplicates', 'duplicate');
    // A number counted missing has arrived late.
    this.mark(r, seq, requestId);
    if (r.missing > 0) {
      r.missing -= 1;
      this.sums.missing -= 1;
    }
    return this.count(r, 'outOfOrder', 'out-of-order');
  }

  private count(r: DeviceRecord, field: 'resends' | 'duplicates' | 'outOfOrder', verdict: SeqVerdict): SeqVerdict {
    r[field] += 1;
    this.sums[field] += 1;
    return verdict;
  }
}
