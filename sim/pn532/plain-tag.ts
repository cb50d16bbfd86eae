/**
 * A plain ISO 14443-A tag (an NTAG/Ultralight sticker, a transit fob): it
 * activates, but speaks no ISO-DEP (SAK 0x00), so it takes no APDUs. A reader
 * must report it as not ISO-DEP and never treat it as a wallet.
 */
import { randomBytes } from 'node:crypto';
import type { Iso14443aTarget } from '../nfc-target.ts';

export class PlainTag implements Iso14443aTarget {
  readonly atqa: Uint8Array;
  readonly sak: number;
  readonly uid: Uint8Array;
  activations = 0;

  /** Defaults: ATQA 00 44 and a 7-byte UID with NXP's manufacturer byte 04, as an NTAG213 answers. */
  constructor(options: { uid?: Uint8Array; atqa?: Uint8Array; sak?: number } = {}) {
    this.uid = options.uid ?? Uint8Array.of(0x04, ...randomBytes(6));
    this.atqa = options.atqa ?? Uint8Array.of(0x00, 0x44);
    this.sak = options.sak ?? 0x00;
    if (this.uid.length !== 4 && this.uid.length !== 7 && this.uid.length !== 10) throw new RangeError(`uid must be 4, 7 or 10 bytes, got ${this.uid.length}`);
    if (this.atqa.length !== 2) throw new RangeError(`atqa must be 2 bytes, got ${this.atqa.length}`);
    if ((this.sak & 0x20) !== 0) throw new RangeError('a plain tag has SAK bit 0x20 clear');
  }

  activate(): Uint8Array {
    this.activations++;
    return this.uid;
  }

  transceive(_apdu: Uint8Array): Promise<Uint8Array> {
    return Promise.reject(new Error('a plain ISO 14443-A tag does not take APDUs'));
  }

  deactivate(): void {
    // Stateless: nothing to forget.
  }
}
