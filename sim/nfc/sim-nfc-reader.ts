/**
 * An NfcReader with no chip and no serial line: it activates the targets in
 * an RfField and talks to them directly, in memory. For device-host unit
 * tests and large simulated stations, where a virtual PN532 per device is
 * more than is needed.
 *
 * It keeps the same contract as the PN532 reader
 * (test/hardware/contracts/nfc-reader.contract.ts), so a host program tested
 * on it behaves the same on a Pi: the same error codes, the same APDU size
 * limit, and the same ISO 14443-3 rule that a released target halts and is
 * not found again until it leaves the field (no second charge for a phone
 * left lying on the reader).
 */
import { NfcError, sakIsoDepBit } from '../../hardware/nfc-reader.ts';
import type { NfcReader, NfcTargetInfo } from '../../hardware/nfc-reader.ts';
import { inDataExchangeDataBytesMax } from '../../hardware/nfc/pn532-commands.ts';
import type { Iso14443aTarget } from '../nfc-target.ts';
import { RfField } from '../pn532/field.ts';

/**
 * The PN532's limit on one exchange, both ways: a host that fits its APDUs
 * here fits them on the real reader too.
 */
export const simApduBytesMax = inDataExchangeDataBytesMax;

/**
 * Calls waiting behind the one in progress. A device host has one dialogue
 * at a time; more than this means a caller loops, which is a bug.
 */
export const simCallsWaitingMax = 8;

type Outcome =
  | { readonly kind: 'answer'; readonly apdu: Uint8Array }
  | { readonly kind: 'lost' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'closed' };

function checkTimeout(timeoutMs: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`timeoutMs must be a finite number >= 0, got ${timeoutMs}`);
}

/** Resolves after ms; rejects when signal aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.ceil(ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class SimNfcReader implements NfcReader {
  readonly field: RfField;
  readonly counters = { activations: 0, exchanges: 0, timeouts: 0, targetsLost: 0 };
  private current: { readonly target: Iso14443aTarget; readonly isoDep: boolean } | null = null;
  /** Released targets, with the field entry they were released on; pruned as they leave, so never more than the field holds. */
  private readonly halted = new Map<Iso14443aTarget, number | undefined>();
  /** Aborted by close(): ends whatever wait is in progress. */
  private readonly closing = new AbortController();
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(options: { field?: RfField } = {}) {
    this.field = options.field ?? new RfField();
  }

  waitForTarget(options: { timeoutMs: number }): Promise<NfcTargetInfo | null> {
    return this.serial(async () => {
      checkTimeout(options.timeoutMs);
      if (this.current !== null) this.releaseCurrent(); // every tap starts from a fresh activation
      const deadline = performance.now() + options.timeoutMs;
      while (true) {
        this.pruneHalted();
        const target = this.field.targets.find((t) => !this.halted.has(t));
        if (target !== undefined) return this.activate(target);
        const remainingMs = deadline - performance.now();
        if (remainingMs <= 0 || !(await this.fieldChange(remainingMs))) return null;
      }
    });
  }

  exchange(apdu: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array> {
    return this.serial(async () => {
      checkTimeout(options.timeoutMs);
      const current = this.current;
      if (current === null) throw new NfcError('TS_ERR_NFC_NO_TARGET');
      if (!current.isoDep) throw new NfcError('TS_ERR_NFC_NOT_ISO_DEP', `SAK 0x${current.target.sak.toString(16)}`);
      if (apdu.length > simApduBytesMax) throw new NfcError('TS_ERR_NFC_APDU_TOO_LONG', `${apdu.length} bytes, at most ${simApduBytesMax}`);
      this.counters.exchanges++;
      const outcome = await this.transceive(current.target, apdu, options.timeoutMs);
      if (outcome.kind === 'closed') throw new NfcError('TS_ERR_NFC_CLOSED', 'closed during the exchange');
      if (outcome.kind !== 'answer') {
        // Either way the ISO-DEP session is gone: the target must be activated (and SELECTed) again.
        this.current = null;
        current.target.deactivate();
        if (outcome.kind === 'timeout') {
          this.counters.timeouts++;
          throw new NfcError('TS_ERR_NFC_TIMEOUT', `${options.timeoutMs} ms`);
        }
        this.counters.targetsLost++;
        throw new NfcError('TS_ERR_NFC_TARGET_LOST');
      }
      if (outcome.apdu.length < 2) throw new NfcError('TS_ERR_NFC_BAD_RESPONSE', `${outcome.apdu.length} bytes, no status word`);
      if (outcome.apdu.length > simApduBytesMax) {
        throw new NfcError('TS_ERR_NFC_TRANSMISSION', `a ${outcome.apdu.length}-byte answer, more than a PN532 returns (${simApduBytesMax})`);
      }
      return outcome.apdu.slice();
    });
  }

  release(): Promise<void> {
    return this.serial(() => {
      this.releaseCurrent();
      return Promise.resolve();
    });
  }

  /** Ends any wait in progress (it rejects TS_ERR_NFC_CLOSED) and refuses every later call. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.closing.abort();
    const current = this.current;
    this.current = null;
    current?.target.deactivate();
    return Promise.resolve();
  }

  /** One call at a time, in order, as the PN532 link runs one command at a time. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new NfcError('TS_ERR_NFC_CLOSED'));
    if (this.waiting >= simCallsWaitingMax) return Promise.reject(new RangeError(`more than ${simCallsWaitingMax} reader calls waiting: a caller loops`));
    this.waiting++;
    const run = this.tail.then(() => {
      this.waiting--;
      if (this.closed) throw new NfcError('TS_ERR_NFC_CLOSED');
      return task();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private activate(target: Iso14443aTarget): NfcTargetInfo {
    let uid: Uint8Array;
    try {
      uid = target.activate();
    } catch (error) {
      throw new NfcError('TS_ERR_NFC_TRANSMISSION', `activation failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.counters.activations++;
    const isoDep = (target.sak & sakIsoDepBit) !== 0;
    this.current = { target, isoDep };
    const info = { uid: uid.slice(), atqa: target.atqa.slice(), sak: target.sak, isoDep };
    return isoDep && target.ats !== undefined ? { ...info, ats: target.ats.slice() } : info;
  }

  /** InRelease puts HLTA on the air: the target halts until it leaves the field. */
  private releaseCurrent(): void {
    const current = this.current;
    this.current = null;
    if (current === null) return;
    this.halted.set(current.target, this.field.placementOf(current.target));
    current.target.deactivate();
  }

  /** A halted target that left the field (or left and came back) is a new target. */
  private pruneHalted(): void {
    for (const [target, placement] of this.halted) {
      if (this.field.placementOf(target) !== placement || placement === undefined) this.halted.delete(target);
    }
  }

  /** True at the next place/remove in the field, false when ms pass first; rejects TS_ERR_NFC_CLOSED on close(). */
  private async fieldChange(ms: number): Promise<boolean> {
    const wait = new AbortController();
    const onClose = (): void => wait.abort();
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const timer = setTimeout(() => wait.abort(), Math.ceil(ms));
    try {
      await this.field.nextChange(wait.signal);
      return true;
    } catch {
      if (this.closed) throw new NfcError('TS_ERR_NFC_CLOSED', 'closed while waiting for a target');
      return false;
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    }
  }

  /** The target's answer, or whichever comes first of: it leaves the field, it fails, the timeout, close(). */
  private async transceive(target: Iso14443aTarget, apdu: Uint8Array, timeoutMs: number): Promise<Outcome> {
    if (!this.field.has(target)) return { kind: 'lost' };
    const local = new AbortController(); // ends the side waits once one of them won
    const onClose = (): void => local.abort();
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const closedOr = (outcome: Outcome) => (): Outcome => (this.closed ? { kind: 'closed' } : outcome);
    try {
      return await Promise.race<Outcome>([
        // A target that rejects has stopped answering: the chip reports that as a lost target too.
        target.transceive(apdu.slice()).then((answer): Outcome => ({ kind: 'answer', apdu: answer }), closedOr({ kind: 'lost' })),
        this.field.left(target, local.signal).then(closedOr({ kind: 'lost' }), closedOr({ kind: 'lost' })),
        sleep(timeoutMs, local.signal).then(closedOr({ kind: 'timeout' }), closedOr({ kind: 'lost' })),
      ]);
    } finally {
      this.closing.signal.removeEventListener('abort', onClose);
      local.abort();
    }
  }
}
