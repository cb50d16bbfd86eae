/**
 * A reader with no chip and no serial line: it talks to an Iso14443aTarget
 * (a simulated phone) directly in memory. Lets the wallet client and the
 * host programs be tested without the virtual PN532, with the same waits and
 * the same error codes a reader has (hardware/nfc-reader.ts): an exchange
 * that takes longer than its timeout rejects TS_ERR_NFC_TIMEOUT, a phone
 * pulled away TS_ERR_NFC_TARGET_LOST.
 */
import type { ApduTransport } from '../../hardware/wallet-client.ts';
import type { Iso14443aTarget } from '../nfc-target.ts';
import { PhoneError } from './errors.ts';

/** No exchange waits longer than a minute, whatever the caller asks. */
export const directExchangeTimeoutMsMax = 60_000;

export type DirectTransportErrorCode = 'TS_ERR_NFC_TIMEOUT' | 'TS_ERR_NFC_TARGET_LOST' | 'TS_ERR_NFC_NO_TARGET' | 'TS_ERR_NFC_OPTION';

export class DirectTransportError extends Error {
  override readonly name = 'DirectTransportError';
  readonly code: DirectTransportErrorCode;
  constructor(code: DirectTransportErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A phone's own complaint, as a reader would report it. */
function asReaderError(err: unknown): unknown {
  if (!(err instanceof PhoneError)) return err;
  if (err.code === 'TS_ERR_PHONE_NOT_IN_FIELD') return new DirectTransportError('TS_ERR_NFC_TARGET_LOST', err.message, { cause: err });
  if (err.code === 'TS_ERR_PHONE_NOT_ACTIVATED') return new DirectTransportError('TS_ERR_NFC_NO_TARGET', err.message, { cause: err });
  return err;
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
    } catch (err) {
      throw asReaderError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The reader lets go of the target (InRelease): the next dialogue needs a new activation and SELECT. */
  release(): Promise<void> {
    this.target.deactivate();
    return Promise.resolve();
  }
}
