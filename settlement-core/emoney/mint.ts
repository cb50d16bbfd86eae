/**
 * The one place an e-money token is made (claim 34): a fresh UUIDv7 serial at
 * the issue time, the amount, the holder wallet, the float that backs it, and
 * an Ed25519 signature under the issuer key over protocol's emoneyTokenBytes.
 * Used by issuance over the wallet API (issue.ts) and by a device's settle
 * request that buys e-money (engine/emoney-settle.ts). The caller records
 * the token (WriteSet.emoney.mints) in the transaction that moves its value
 * into the float.
 */
import { emoneyTokenBytes, signEd25519, uuidv7 } from '../../protocol/index.ts';
import type { EmoneyToken, Money } from '../../protocol/index.ts';
import type { EmoneyIssuer } from './decide-common.ts';

export interface TokenTerms {
  amount: Money;
  /** The wallet that will hold (and alone may deposit) the token. */
  holder: string;
  /** The issuer float account of the amount's currency. */
  float: string;
}

export function mintToken(issuer: EmoneyIssuer, terms: TokenTerms, now: number): EmoneyToken {
  const unsigned = {
    serial: uuidv7(now), amount: { minor: terms.amount.minor, currency: terms.amount.currency }, holder: terms.holder, issuedAt: now, float: terms.float, keyId: issuer.keyId,
  };
  return { ...unsigned, sig: signEd25519(issuer.pair, emoneyTokenBytes(unsigned)) };
}
