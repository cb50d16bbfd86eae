/**
 * Claims 17–18: ticket mode. The gate admits on an issuer-signed ticket it
 * verifies offline (keys.issuer from the retained config): once per use,
 * within its validity window, for the phone's own wallet; forged, expired,
 * used-up tickets are refused and the gate stays closed. Uses survive a
 * restart of the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../protocol/index.ts';
import { startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { giveTicket, issuer, opens, phoneOf, signedTicket, startGate, tap } from './gate-fixtures.ts';
import type { GateUnderTest } from './gate-fixtures.ts';

let station: TestStation;
let gate: GateUnderTest;
const section = { mode: 'ticket', stationId: 'central', products: ['day-pass', 'single'] };

beforeAll(async () => {
  station = await startTestStation();
  gate = await startGate(station, 'gate-entry-1', section);
}, 30_000);

afterAll(async () => {
  await gate?.host.close();
  await station?.close();
});

describe('gate: ticket mode (claims 17–18)', () => {
  it('a valid ticket opens once; the second use is refused and the gate stays closed, also after a restart', async () => {
    const ada = await phoneOf(station, 'Ada');
    giveTicket(ada, signedTicket(ada.holdings.walletId));
    const before = await station.balance('Ada');
    expect(await tap(gate, ada)).toMatchObject({ mode: 'ticket', result: 'opened', passage: 'passed', why: 'ticket day-pass' });
    expect(opens(gate)).toBe(1);
    expect(await tap(gate, ada)).toMatchObject({ result: 'refused', why: 'ticket-used' });
    expect(opens(gate)).toBe(1);
    expect(await station.balance('Ada')).toBe(before); // a ticket gate moves no money

    // The use is on disk: the same gate after a restart still refuses it.
    const dataDir = gate.dataDir;
    await gate.host.close();
    gate = await startGate(station, 'gate-entry-1', section, { dataDir });
    expect(await tap(gate, ada)).toMatchObject({ result: 'refused', why: 'ticket-used' });
    expect(opens(gate)).toBe(0);
    ada.holdings.putTickets([], 1);
  });

  it('a multi-use ticket opens as often as it says', async () => {
    const ben = await phoneOf(station, 'Ben');
    giveTicket(ben, signedTicket(ben.holdings.walletId, { uses: 2, product: 'single' }));
    expect((await tap(gate, ben)).result).toBe('opened');
    expect((await tap(gate, ben)).result).toBe('opened');
    expect(await tap(gate, ben)).toMatchObject({ result: 'refused', why: 'ticket-used' });
    ben.holdings.putTickets([], 1);
  });

  it('refuses expired, not-yet-valid, forged, other-product and other-wallet tickets; the gate stays closed', async () => {
    const cleo = await phoneOf(station, 'Cleo');
    const w = cleo.holdings.walletId;
    const now = Date.now();
    const opened = opens(gate);
    const cases: [ReturnType<typeof signedTicket>, string][] = [
      [signedTicket(w, { validFrom: now - 7_200_000, validUntil: now - 1 }), 'ticket-expired'],
      [signedTicket(w, { validFrom: now + 600_000, validUntil: now + 7_200_000 }), 'ticket-not-yet-valid'],
      [signedTicket(w, {}, generateSigningKeyPair(issuer.keyId)), 'ticket-forged'], // right keyId, wrong key
      [{ ...signedTicket(w), validUntil: now + 365 * 86_400_000 }, 'ticket-forged'], // signed, then altered
      [signedTicket(w, { product: 'museum' }), 'ticket-product'],
    ];
    for (const [ticket, why] of cases) {
      cleo.holdings.putTickets([ticket], 1);
      expect(await tap(gate, cleo)).toMatchObject({ result: 'refused', why });
    }
    cleo.holdings.putTickets([], 1);
    expect(await tap(gate, cleo)).toMatchObject({ result: 'refused', why: 'no-ticket' });
    // A ticket of another wallet copied onto this phone (the simulated applet refuses the write, so it is forced in).
    const dev = await phoneOf(station, 'Dev');
    (cleo.holdings as unknown as { heldTickets: unknown[] }).heldTickets = [signedTicket(dev.holdings.walletId)];
    expect(await tap(gate, cleo)).toMatchObject({ result: 'refused', why: 'ticket-other-wallet' });
    expect(opens(gate)).toBe(opened);
  });

  it('a ticket whose gate closed before anyone passed keeps its use', async () => {
    const dev = await phoneOf(station, 'Dev');
    giveTicket(dev, signedTicket(dev.holdings.walletId));
    expect(await tap(gate, dev, { walk: false })).toMatchObject({ result: 'opened', passage: 'not-passed' });
    expect(await tap(gate, dev)).toMatchObject({ result: 'opened', passage: 'passed' });
    expect(await tap(gate, dev)).toMatchObject({ result: 'refused', why: 'ticket-used' });
  }, 15_000);
});
