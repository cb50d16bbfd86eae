import { describe, expect, it } from 'vitest';
import {
  Admission,
  EmoneyToken,
  Ticket,
  admissionBytes,
  canonicalBytes,
  domains,
  emoneyTokenBytes,
  generateSigningKeyPair,
  signEd25519,
  ticketBytes,
  verifyEd25519,
} from '../../protocol/index.ts';
import { walletId } from './fixtures.ts';

const issuer = generateSigningKeyPair('issuer-1');
const gate = generateSigningKeyPair('gate-7');

const unsignedTicket = {
  ticketId: '01937a4e-a000-7000-8000-000000000010',
  walletId,
  product: 'single-zone-ab',
  validFrom: 1_732_430_000_000,
  validUntil: 1_732_437_200_000,
  uses: 1,
  keyId: issuer.keyId,
};
const unsignedAdmission = {
  admissionId: '01937a4e-a000-7000-8000-000000000011',
  walletId,
  station: 'central',
  gate: 'gate-central-07',
  enteredAt: 1_732_430_100_000,
  keyId: gate.keyId,
};
const unsignedToken = {
  serial: '01937a4e-a000-7000-8000-000000000012',
  amount: { minor: 2000, currency: 'EUR' },
  holder: walletId,
  issuedAt: 1_732_430_000_000,
  float: '900-0000001',
  keyId: issuer.keyId,
};

describe('offline documents (Ed25519 over canonical bytes)', () => {
  it('ticket bytes are ticketId, walletId, product, validFrom, validUntil, uses, keyId', () => {
    const t = unsignedTicket;
    expect(ticketBytes(t).equals(canonicalBytes(domains.ticket, [t.ticketId, t.walletId, t.product, t.validFrom, t.validUntil, t.uses, t.keyId]))).toBe(true);
  });

  it('admission bytes are admissionId, walletId, station, gate, enteredAt, keyId', () => {
    const a = unsignedAdmission;
    expect(admissionBytes(a).equals(canonicalBytes(domains.admission, [a.admissionId, a.walletId, a.station, a.gate, a.enteredAt, a.keyId]))).toBe(true);
  });

  it('e-money bytes are serial, amount.minor, amount.currency, holder, issuedAt, float, keyId', () => {
    const e = unsignedToken;
    expect(emoneyTokenBytes(e).equals(canonicalBytes(domains.emoney, [e.serial, 2000, 'EUR', e.holder, e.issuedAt, e.float, e.keyId]))).toBe(true);
  });

  it('a signed ticket parses and verifies under the issuer key, and fails when changed', () => {
    const ticket = Ticket.parse({ ...unsignedTicket, sig: signEd25519(issuer, ticketBytes(unsignedTicket)) });
    expect(verifyEd25519(issuer.publicKey, ticketBytes(ticket), ticket.sig)).toBe(true);
    expect(verifyEd25519(gate.publicKey, ticketBytes(ticket), ticket.sig)).toBe(false);
    for (const changed of [{ uses: 2 }, { validUntil: ticket.validUntil + 1 }, { product: 'all-zones' }, { walletId: '01937a4e-0000-7000-8000-000000000002' }, { keyId: 'issuer-2' }]) {
      expect(verifyEd25519(issuer.publicKey, ticketBytes({ ...ticket, ...changed }), ticket.sig)).toBe(false);
    }
  });

  it('a signed admission parses and verifies under the gate key, and fails when changed', () => {
    const admission = Admission.parse({ ...unsignedAdmission, sig: signEd25519(gate, admissionBytes(unsignedAdmission)) });
    expect(verifyEd25519(gate.publicKey, admissionBytes(admission), admission.sig)).toBe(true);
    expect(verifyEd25519(issuer.publicKey, admissionBytes(admission), admission.sig)).toBe(false);
    for (const changed of [{ station: 'harbour' }, { gate: 'gate-central-08' }, { enteredAt: admission.enteredAt - 1 }]) {
      expect(verifyEd25519(gate.publicKey, admissionBytes({ ...admission, ...changed }), admission.sig)).toBe(false);
    }
  });

  it('a signed e-money token parses and verifies under the issuer key, and fails when changed', () => {
    const token = EmoneyToken.parse({ ...unsignedToken, sig: signEd25519(issuer, emoneyTokenBytes(unsignedToken)) });
    expect(verifyEd25519(issuer.publicKey, emoneyTokenBytes(token), token.sig)).toBe(true);
    for (const changed of [{ amount: { minor: 20_000, currency: 'EUR' } }, { amount: { minor: 2000, currency: 'USD' } }, { holder: '01937a4e-0000-7000-8000-000000000002' }, { float: '900-0000002' }, { serial: '01937a4e-a000-7000-8000-000000000013' }]) {
      expect(verifyEd25519(issuer.publicKey, emoneyTokenBytes({ ...token, ...changed }), token.sig)).toBe(false);
    }
  });

  it('a signature over one kind of document never verifies as another', () => {
    const sig = signEd25519(issuer, ticketBytes(unsignedTicket));
    expect(verifyEd25519(issuer.publicKey, emoneyTokenBytes(unsignedToken), sig)).toBe(false);
    expect(verifyEd25519(issuer.publicKey, canonicalBytes(domains.emoney, [unsignedTicket.ticketId, unsignedTicket.walletId, unsignedTicket.product, unsignedTicket.validFrom, unsignedTicket.validUntil, unsignedTicket.uses, unsignedTicket.keyId]), sig)).toBe(false);
  });

  it('document schemas are strict and bounded', () => {
    const sig = signEd25519(issuer, ticketBytes(unsignedTicket));
    expect(Ticket.safeParse({ ...unsignedTicket, sig }).success).toBe(true);
    expect(Ticket.safeParse({ ...unsignedTicket, sig, extra: 1 }).success).toBe(false);
    expect(Ticket.safeParse({ ...unsignedTicket, sig: `${sig}A` }).success).toBe(false);
    expect(Ticket.safeParse({ ...unsignedTicket, sig: sig.replace(/.$/, '+') }).success).toBe(false);
    expect(Ticket.safeParse({ ...unsignedTicket, sig, uses: 0 }).success).toBe(false);
    expect(Ticket.safeParse({ ...unsignedTicket, sig, uses: 1001 }).success).toBe(false);
    expect(Ticket.safeParse({ ...unsignedTicket, sig, product: 'p'.repeat(65) }).success).toBe(false);
    expect(Admission.safeParse({ ...unsignedAdmission, sig, station: 's'.repeat(33) }).success).toBe(false);
    expect(Admission.safeParse({ ...unsignedAdmission, sig, station: 's'.repeat(32) }).success).toBe(true);
    expect(Admission.safeParse({ ...unsignedAdmission, sig, gate: 'Gate/1' }).success).toBe(false);
    expect(EmoneyToken.safeParse({ ...unsignedToken, sig, amount: { minor: 0, currency: 'EUR' } }).success).toBe(false);
    expect(EmoneyToken.safeParse({ ...unsignedToken, sig, float: '900-000001' }).success).toBe(false);
  });
});
