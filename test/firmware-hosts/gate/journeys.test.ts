/**
 * Claim 11 end to end: a journey in through the entry gate and out through
 * the exit gate, the fare from the fare table; the maximum fare without a
 * verified entry; deny list and anti-passback at the entry. Real gateway and
 * core, gate hosts on simulated parts, simulated phones on the virtual PN532.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionBytes, generateSigningKeyPair, signEd25519, uuidv7, verifyEd25519 } from '../../../protocol/index.ts';
import { eventually, startTestStation } from '../harness.ts';
import type { TestStation } from '../harness.ts';
import { entryKey, opens, phoneOf, pushGateConfig, startGate, tap } from './gate-fixtures.ts';
import type { GateUnderTest } from './gate-fixtures.ts';

let station: TestStation;
let entry: GateUnderTest;
let exit: GateUnderTest;

beforeAll(async () => {
  station = await startTestStation();
  entry = await startGate(station, 'gate-entry-1', { mode: 'entry', stationId: 'central' });
  exit = await startGate(station, 'gate-exit-1', { mode: 'exit', stationId: 'harbour' });
}, 30_000);

afterAll(async () => {
  await entry?.host.close();
  await exit?.host.close();
  await station?.close();
});

const drained = (g: GateUnderTest) => eventually('outbox drained', () => g.host.link.outbox.depth === 0);

describe('gate: entry then exit (claim 11)', () => {
  it('writes a gate-signed admission at entry, charges the table fare at exit, clears the admission, opens both times', async () => {
    const ada = await phoneOf(station, 'Ada');
    const before = await station.balance('Ada');

    const inTap = await tap(entry, ada);
    expect(inTap).toMatchObject({ mode: 'entry', result: 'opened', passage: 'passed' });
    expect(opens(entry)).toBe(1);
    const admission = ada.holdings.admission();
    expect(admission).toMatchObject({ walletId: ada.holdings.walletId, station: 'central', gate: 'gate-entry-1', keyId: entryKey.keyId });
    expect(verifyEd25519(entryKey.publicKey, admissionBytes(admission!), admission!.sig)).toBe(true);
    expect(await station.balance('Ada')).toBe(before); // entry moves no money

    const outTap = await tap(exit, ada);
    expect(outTap).toMatchObject({ mode: 'exit', result: 'opened', passage: 'passed', why: 'fare 250 EUR' });
    expect(opens(exit)).toBe(1);
    expect(ada.holdings.admission()).toBeNull();
    await drained(exit); // settle answered, outcome `passed` acknowledged
    expect(await station.balance('Ada')).toBe(before - 250);
    // Each relay opened once and is closed again.
    expect(entry.sim.relays.get('gate')!.state).toBe('closed');
    expect(exit.sim.relays.get('gate')!.state).toBe('closed');
  });

  it('charges the maximum fare when the phone holds no admission', async () => {
    const ben = await phoneOf(station, 'Ben');
    const before = await station.balance('Ben');
    const t = await tap(exit, ben);
    expect(t).toMatchObject({ result: 'opened', why: 'fare 500 EUR' });
    await drained(exit);
    expect(await station.balance('Ben')).toBe(before - 500);
  });

  it('charges the maximum fare for a forged admission (a signature no gate key verifies), and clears it', async () => {
    const cleo = await phoneOf(station, 'Cleo');
    const forger = generateSigningKeyPair(entryKey.keyId); // claims to be the entry gate's key
    const body = { admissionId: uuidv7(), walletId: cleo.holdings.walletId, station: 'harbour', gate: 'gate-entry-1', enteredAt: Date.now(), keyId: forger.keyId };
    cleo.holdings.putAdmissions([{ ...body, sig: signEd25519(forger, admissionBytes(body)) }]);
    const before = await station.balance('Cleo');
    const t = await tap(exit, cleo);
    expect(t).toMatchObject({ result: 'opened', why: 'fare 500 EUR' }); // not the 150 of harbour→harbour
    expect(cleo.holdings.admission()).toBeNull();
    await drained(exit);
    expect(await station.balance('Cleo')).toBe(before - 500);
  });

  it('refuses a deny-listed wallet at the entry: closed, no admission written', async () => {
    const dev = await phoneOf(station, 'Dev');
    await pushGateConfig(station, entry, 'gate-entry-1', { denyList: [dev.holdings.walletId] });
    const opened = opens(entry);
    const t = await tap(entry, dev);
    expect(t).toMatchObject({ result: 'refused', why: 'deny-listed' });
    expect(opens(entry)).toBe(opened);
    expect(dev.holdings.admission()).toBeNull();
    await pushGateConfig(station, entry, 'gate-entry-1', {});
  });

  it('anti-passback: a second entry with an open admission is refused; an entry whose gate closed before passage may retry', async () => {
    const ben = await phoneOf(station, 'Ben');
    const first = await tap(entry, ben, { walk: false }); // paddles open, nobody walks: not passed
    expect(first).toMatchObject({ result: 'opened', passage: 'not-passed' });
    const admissionId = ben.holdings.admission()!.admissionId;
    const retry = await tap(entry, ben); // within the grace: opens again on the same admission
    expect(retry).toMatchObject({ result: 'opened', passage: 'passed', why: 'entry retried within grace' });
    expect(ben.holdings.admission()!.admissionId).toBe(admissionId);
    const opened = opens(entry);
    const again = await tap(entry, ben);
    expect(again).toMatchObject({ result: 'refused', why: 'passback' });
    expect(opens(entry)).toBe(opened);
    ben.holdings.putAdmissions([]);
  }, 15_000);

  it('an exit whose paddles closed before passage reports not-passed (refund), and the retry within the grace pays the same fare', async () => {
    const ada = await phoneOf(station, 'Ada');
    await tap(entry, ada);
    const before = await station.balance('Ada');
    const first = await tap(exit, ada, { walk: false });
    expect(first).toMatchObject({ result: 'opened', passage: 'not-passed', why: 'fare 250 EUR' });
    await drained(exit);
    expect(await station.balance('Ada')).toBe(before); // not-passed: the core refunded
    expect(ada.holdings.admission()).toBeNull();
    const retry = await tap(exit, ada);
    expect(retry).toMatchObject({ result: 'opened', passage: 'passed', why: 'fare 250 EUR' }); // not the maximum fare
    await drained(exit);
    expect(await station.balance('Ada')).toBe(before - 250);
  }, 15_000);
});
