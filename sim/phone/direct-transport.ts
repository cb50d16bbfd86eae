/**
 * A reader with no chip and no serial line: it talks to an Iso14443aTarget
 * (a simulated phone) directly in memory. Lets the wallet client and the
 * host programs be tested without the virtual PN532, with the same waits a
 * real reader has: an exchange that takes longer than its timeout rejects.
 */
import type { ApduTransport } from '../../hardware/wallet-client.ts';
import type { Iso14443aTarget } from '../nfc-target.ts';

/** No exchange waits longer than a minute, whatever the caller asks. */
export const directExchangeTimeoutMsMax = 60_000;

export class DirectTransportError extends Error {
  override readonly name = 'DirectTransportError';
  readonly code: 'TS_ERR_NFC_TIMEOUT' | 'TS_ERR_NFC_OPTION';
  constructor(code: 'TS_ERR_NFC_TIMEOUT' | 'TS_ERR_NFC_OPTION', message: string) {
    super(message);
    this.code = code;
  }
}

export interface ActivatedTarget {
  uid: Uint8Array;
  sak: number;
  atqa: Uint8Array;
  isoDep: boolean;
}

export class DirectTransport implements ApduTransport {
  private readonly target: Iso14443aTarget;

  constructor(target: Iso14443aTarget) {
    this.target = target;
  }

  /** Anticollision and RATS in one step, as a reader's InListPassiveTarget would do them. */
  activate(): ActivatedTarget {
    const uid = this.target.activate();
    return { uid, sak: this.target.sak, atqa: this.target.atqa, isoDep: (this.target.sak & 0x20) !== 0 };
  }

  async exchange(apdu: Uint8Array, opts: { timeoutMs: number }): Promise<Uint8Array> {
    const { timeoutMs } = opts;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > directExchangeTimeoutMsMax) {
      throw new DirectTransportError('TS_ERR_NFC_OPTION', `timeoutMs: ${timeoutMs} is not an integer 1..${directExchangeTimeoutMsMax}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DirectTransportError('TS_ERR_NFC_TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.target.transceive(apdu), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The reader lets go of the target (InRelease): the next dialogue needs a new activation and SELECT. */
  release(): void {
    this.target.deactivate();
  }
}
