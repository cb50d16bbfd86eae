/**
 * A tiny ISO-DEP target for tests of readers and of the virtual chip: answers
 * SELECT by its AID, echoes a proprietary command, and can be made slow or
 * silent. Not a wallet (that is sim/phone): just enough of ISO 7816-4 to see
 * APDUs go through a reader and back.
 */
import { randomBytes } from 'node:crypto';
import type { Iso14443aTarget } from '../nfc-target.ts';

/** CLA 80 (proprietary) INS EE: answers its data followed by 90 00. */
export const echoCla = 0x80;
export const echoIns = 0xee;

export const sw = {
  ok: Uint8Array.of(0x90, 0x00),
  appletNotFound: Uint8Array.of(0x6a, 0x82),
  insNotSupported: Uint8Array.of(0x6d, 0x00),
  wrongLength: Uint8Array.of(0x67, 0x00),
} as const;

/** Builds SELECT by AID: 00 A4 04 00 Lc AID 00. */
export function selectApdu(aid: Uint8Array): Uint8Array {
  return Uint8Array.of(0x00, 0xa4, 0x04, 0x00, aid.length, ...aid, 0x00);
}

export function echoApdu(data: Uint8Array): Uint8Array {
  return Uint8Array.of(echoCla, echoIns, 0x00, 0x00, data.length, ...data);
}

export interface IsoDepTestTargetOptions {
  aid: Uint8Array;
  /** Time the "applet" takes per APDU; Infinity = never answers (a hung phone). */
  answerDelayMs?: number;
}

export class IsoDepTestTarget implements Iso14443aTarget {
  readonly atqa = Uint8Array.of(0x00, 0x04);
  readonly sak = 0x20;
  /** T0 78 (TA TB TC present, FSCI 8 = 256 bytes), TA 80, TB 70, TC 02: what Android phones answer to RATS. */
  readonly ats = Uint8Array.of(0x78, 0x80, 0x70, 0x02);
  readonly aid: Uint8Array;
  answerDelayMs: number;
  readonly received: Uint8Array[] = [];
  private selected = false;
  private pending = new Set<(error: Error) => void>();

  constructor(options: IsoDepTestTargetOptions) {
    this.aid = options.aid;
    this.answerDelayMs = options.answerDelayMs ?? 0;
  }

  /** A fresh random UID per activation (first byte 08 = random, ISO 14443-3), as phones in HCE do. */
  activate(): Uint8Array {
    this.selected = false;
    return Uint8Array.of(0x08, ...randomBytes(3));
  }

  transceive(apdu: Uint8Array): Promise<Uint8Array> {
    this.received.push(apdu.slice());
    const answer = this.answer(apdu);
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.pending.add(fail);
      if (!Number.isFinite(this.answerDelayMs)) return; // silent until deactivated
      setTimeout(() => {
        if (!this.pending.delete(fail)) return; // deactivated meanwhile
        resolve(answer);
      }, this.answerDelayMs);
    });
  }

  deactivate(): void {
    this.selected = false;
    const pending = [...this.pending];
    this.pending.clear();
    for (const fail of pending) fail(new Error('the target left the field'));
  }

  private answer(apdu: Uint8Array): Uint8Array {
    if (apdu.length < 4) return sw.wrongLength;
    const [cla, ins, p1, p2] = apdu;
    if (cla === 0x00 && ins === 0xa4 && p1 === 0x04 && p2 === 0x00) {
      const aid = apdu.subarray(5, 5 + (apdu[4] ?? 0));
      this.selected = aid.length === this.aid.length && aid.every((b, i) => b === this.aid[i]);
      return this.selected ? sw.ok : sw.appletNotFound;
    }
    // Android stays silent until a SELECT routed the session; a test target answers 6A 82 so tests stay fast.
    if (!this.selected) return sw.appletNotFound;
    if (cla === echoCla && ins === echoIns) {
      const length = apdu[4] ?? 0;
      if (apdu.length < 5 + length) return sw.wrongLength;
      return Uint8Array.of(...apdu.subarray(5, 5 + length), ...sw.ok);
    }
    return sw.insNotSupported;
  }
}
