/** A gateway started without a ticket issuer key: the core declines ticket sales `ticket-unavailable`; the kiosk writes nothing and no money moves. */
import { afterAll, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../protocol/index.ts';
import { kioskKind } from '../../../firmware-hosts/kiosk/kiosk.ts';
import type { KioskProgram } from '../../../firmware-hosts/kiosk/program.ts';
import { eventually, ready, startTestHost, startTestStation } from '../harness.ts';
import type { TestHost, TestStation } from '../harness.ts';
import { catalog, issuerKeys, kioskId, tap } from './kiosk-fixtures.ts';

let station: TestStation | undefined;
let h: TestHost | undefined;
afterAll(async () => {
  await h?.host.close();
  await station?.close();
});

it('without an issuer key on the gateway the sale is declined ticket-unavailable and nothing is written', async () => {
  station = await startTestStation();
  const config = await station.pushConfig(kioskId, { catalog, keys: issuerKeys(generateSigningKeyPair('issuer-unused')) });
  h = await startTestHost(station, kioskKind, kioskId, { parts: { nfc: { driver: 'sim' } } });
  await ready(h, config.version);
  const program = h.host.program as KioskProgram;
  const before = await station.balance('Ada');
  const phone = await station.phone('Ada');
  expect(program.choose('T1').ok).toBe(true);
  tap(h, phone);
  await eventually('declined', () => program.counts.declined === 1);
  expect(h.sim.display.text).toBe('Declined: ticket-unavailable');
  expect(phone.holdings.tickets()).toEqual([]);
  expect(await station.balance('Ada')).toBe(before);
  expect(program.counts.outcomesAcked).toBe(0);
});
