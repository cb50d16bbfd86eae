/** Shared by the link suites: settle drafts that the demo gateway approves, and a quiet wait. */
import { randomBytes } from 'node:crypto';
import { limits, uuidv7, walletCryptogram } from '../../../protocol/index.ts';
import type { Purchase } from '../../../protocol/index.ts';
import type { SettleDraft } from '../../../firmware-hosts/runtime/bodies.ts';

let counter = 1000;

export interface WalletCreds {
  walletId: string;
  /** base64 */
  walletKey: string;
}

export function settleDraft(deviceId: string, merchant: string, wallet: WalletCreds, minor: number): SettleDraft {
  const purchase: Purchase = { merchant, amount: { minor, currency: 'EUR' }, article: 'cola-330', quantity: 1 };
  const deviceNonce = randomBytes(limits.nonceBytes).toString('hex');
  counter += 1;
  const cryptogram = walletCryptogram(Buffer.from(wallet.walletKey, 'base64'), { walletId: wallet.walletId, deviceId, purchase, deviceNonce, counter });
  return { requestId: uuidv7(), purchase, wallet: { walletId: wallet.walletId, counter, deviceNonce, cryptogram } };
}

/** Fast reconnects for tests: a restarted broker is found within a second. */
export const quickBackoff = { minMs: 20, maxMs: 400 };
