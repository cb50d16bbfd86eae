/**
 * The start of every tap: a phone enters the reader's field, the host selects
 * the wallet applet. Anything that is not a phone with our applet (a plain
 * tag, a bank card, a phone without the app) is let go with a coded reason.
 */
import { randomBytes } from 'node:crypto';
import type { NfcReader, NfcTargetInfo } from '../../hardware/nfc-reader.ts';
import { WalletAppletError, WalletClient } from '../../hardware/wallet-client.ts';
import type { WalletClientOptions } from '../../hardware/wallet-client.ts';
import { limits } from '../../protocol/index.ts';

export interface Tap {
  readonly target: NfcTargetInfo;
  readonly wallet: WalletClient;
  /** performance.now() when the reader saw the phone: tap-to-open is measured from here. */
  readonly seenAt: number;
}

export type TapRefusal = { refused: 'not-iso-dep' | 'no-wallet-applet' | 'nfc-error'; detail: string };

/** Waits up to timeoutMs for a phone and selects the wallet applet. Null when nothing came. */
export async function nextTap(reader: NfcReader, timeoutMs: number, options: WalletClientOptions = {}): Promise<Tap | TapRefusal | null> {
  const target = await reader.waitForTarget({ timeoutMs });
  if (target === null) return null;
  const seenAt = performance.now();
  if (!target.isoDep) {
    await releaseQuietly(reader);
    return { refused: 'not-iso-dep', detail: 'the target does not take APDUs (a plain tag?)' };
  }
  const wallet = new WalletClient(reader, options);
  try {
    await wallet.select();
  } catch (err) {
    await releaseQuietly(reader);
    const code = err instanceof WalletAppletError ? err.code : ((err as { code?: string }).code ?? 'error');
    return { refused: err instanceof WalletAppletError ? 'no-wallet-applet' : 'nfc-error', detail: `${code}: ${(err as Error).message}` };
  }
  return { target, wallet, seenAt };
}

export const isTap = (t: Tap | TapRefusal | null): t is Tap => t !== null && 'wallet' in t;

export async function releaseQuietly(reader: NfcReader): Promise<void> {
  await reader.release().catch(() => undefined);
}

/** A fresh device nonce for AUTHORIZE PURCHASE. */
export const deviceNonce = (): string => randomBytes(limits.nonceBytes).toString('hex');

/** The coded reason of any error, for logs and events. */
export const errorCode = (err: unknown): string => (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error');
