/** The kiosk's own check of a minted ticket: signature under a configured issuer key, the wallet, product and terms asked for. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, signEd25519, ticketBytes, uuidv7 } from '../../../protocol/index.ts';
import type { Ticket } from '../../../protocol/index.ts';
import { checkIssuedTicket } from '../../../firmware-hosts/kiosk/ticket-check.ts';

const issuer = generateSigningKeyPair('issuer-1');
const keys = [{ keyId: issuer.keyId, publicKey: issuer.publicKey }];
const walletId = uuidv7();
const spec = { validitySec: 600, uses: 1 };
const expect_ = { walletId, article: 'single-ride', spec };

function mint(over: Partial<Omit<Ticket, 'sig'>> = {}, pair = issuer): Ticket {
  const unsigned = { ticketId: uuidv7(), walletId, product: 'single-ride', validFrom: 1_800_000_000_000, validUntil: 1_800_000_600_000, uses: 1, keyId: pair.keyId, ...over };
  return { ...unsigned, sig: signEd25519(pair, ticketBytes(unsigned)) };
}

describe('checkIssuedTicket', () => {
  it('accepts a ticket signed by a configured issuer key for the wallet, product and terms asked for', () => {
    const t = mint();
    expect(checkIssuedTicket(t, expect_, keys)).toEqual({ ok: true, ticket: t });
    expect(checkIssuedTicket(t, {}, keys).ok).toBe(true);
  });

  it('names why a ticket is refused', () => {
    expect(checkIssuedTicket(undefined, expect_, keys)).toEqual({ ok: false, why: 'missing' });
    expect(checkIssuedTicket({ ...mint(), uses: 0 }, expect_, keys)).toEqual({ ok: false, why: 'malformed' });
    expect(checkIssuedTicket(mint(), expect_, [])).toEqual({ ok: false, why: 'unknown-key' });
    const other = generateSigningKeyPair('issuer-1');
    expect(checkIssuedTicket(mint({}, other), expect_, keys)).toEqual({ ok: false, why: 'bad-signature' });
    expect(checkIssuedTicket(mint({ walletId: uuidv7() }), expect_, keys)).toEqual({ ok: false, why: 'wrong-wallet' });
    expect(checkIssuedTicket(mint({ product: 'day-pass' }), expect_, keys)).toEqual({ ok: false, why: 'wrong-product' });
    expect(checkIssuedTicket(mint({ uses: 2 }), expect_, keys)).toEqual({ ok: false, why: 'wrong-terms' });
    expect(checkIssuedTicket(mint({ validUntil: 1_800_000_700_000 }), expect_, keys)).toEqual({ ok: false, why: 'wrong-terms' });
    expect(checkIssuedTicket(mint({ validUntil: 1_800_000_000_000 }), {}, keys)).toEqual({ ok: false, why: 'wrong-terms' });
  });

  it('refuses any change to a signed field, and never throws on garbage (fast-check)', () => {
    const t = mint();
    const fields = ['ticketId', 'walletId', 'product', 'validFrom', 'validUntil', 'uses', 'keyId', 'sig'] as const;
    fc.assert(fc.property(fc.constantFrom(...fields), fc.oneof(fc.string({ maxLength: 90 }), fc.integer(), fc.constant(null)), (field, value) => {
      fc.pre(t[field] !== value);
      expect(checkIssuedTicket({ ...t, [field]: value }, {}, keys).ok).toBe(false);
    }), { seed: 15, numRuns: 500 });
    fc.assert(fc.property(fc.anything(), (junk) => {
      expect(checkIssuedTicket(junk, expect_, keys).ok).toBe(false);
    }), { seed: 16, numRuns: 300 });
  });
});
