/**
 * Claims 15–16: tickets minted by the core. An approved settle request that
 * carries a TicketSpec gets an issuer-signed Ticket (Ed25519 over
 * protocol's ticketBytes) in its result; gates verify it offline with the
 * issuer's public key from their config.
 *
 * The ticket id is a fresh UUIDv7 at the settle time. It need not be derived
 * from the request: the result (ticket included) is journalled with the
 * decision, and a redelivery is answered from the journal byte for byte, so
 * it carries the same ticket and no second one is ever minted.
 */
import { createPrivateKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { Ticket, limits, ticketBytes, uuidv7, verifyEd25519 } from '../../protocol/index.ts';
import type { SigningKeyPair, TicketSpec } from '../../protocol/index.ts';
import { CoreError, invariant } from '../errors.ts';

/** The key the core signs tickets with (DESIGN §5: the issuer key). `keyId` is what devices look the public key up by. */
export interface TicketIssuer {
  keyId: string;
  pair: SigningKeyPair;
}

export interface TicketTerms {
  walletId: string;
  article: string;
  spec: TicketSpec;
}

/**
 * Mints a ticket. It carries the issuer it signs with: e-money tokens bought
 * at a device are signed with the same key (DESIGN §5, one issuer key for
 * tickets and e-money), so the engine gets both from the one option.
 */
export type MintTicket = ((terms: TicketTerms, now: number) => Ticket) & { readonly issuer: TicketIssuer };

/**
 * Checks the issuer once, at start (key id form, the pair is one key: a
 * signature under the private half verifies under the public half), and
 * returns the minting function. The private key object is built once.
 */
export function ticketMinter(issuer: TicketIssuer): MintTicket {
  const { keyId, pair } = issuer;
  if (!Ticket.shape.keyId.safeParse(keyId).success) throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'ticketIssuer.keyId must be 1–64 characters');
  if (pair.keyId !== keyId) throw new CoreError('TS_ERR_INVALID_ARGUMENT', `ticketIssuer.keyId ${JSON.stringify(keyId)} is not the pair's key id ${JSON.stringify(pair.keyId)}`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pair.publicKey, d: pair.privateKey }, format: 'jwk' });
  } catch {
    throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'ticketIssuer.pair is not an Ed25519 key pair in base64url');
  }
  const probe = Buffer.from('tapsettle/v1/ticket-issuer-probe');
  if (!verifyEd25519(pair.publicKey, probe, sign(null, probe, key).toString('base64url'))) {
    throw new CoreError('TS_ERR_INVALID_ARGUMENT', 'ticketIssuer.pair: the private key does not belong to the public key');
  }
  const mint = (terms: TicketTerms, now: number): Ticket => {
    const unsigned = {
      ticketId: uuidv7(now),
      walletId: terms.walletId,
      product: terms.article,
      validFrom: now,
      validUntil: now + terms.spec.validitySec * 1000,
      uses: terms.spec.uses,
      keyId,
    };
    invariant(unsigned.validUntil <= limits.epochMsMax, 'ticket validity ends past epochMsMax');
    return { ...unsigned, sig: sign(null, ticketBytes(unsigned), key).toString('base64url') };
  };
  return Object.assign(mint, { issuer: { keyId, pair } });
}
