/** A purchase terminal on the test station, and phones that reach the wallet API (claims 9 and 12). */
import { posKind } from '../../../firmware-hosts/pos/index.ts';
import type { PosProgram } from '../../../firmware-hosts/pos/index.ts';
import { SimulatedPhone } from '../../../sim/phone/phone.ts';
import type { SimulatedPhoneOptions } from '../../../sim/phone/phone.ts';
import { WalletApiClient } from '../../../sim/phone/wallet-api-client.ts';
import { startTestHost } from '../harness.ts';
import type { TestHost, TestStation } from '../harness.ts';

export const catalog = [
  { article: 'COFFEE', name: 'Coffee', price: { minor: 250, currency: 'EUR' } },
  { article: '4006381333931', name: 'Pen', price: { minor: 120, currency: 'EUR' } },
];

export interface PosHost extends TestHost {
  program: PosProgram;
  /** Every text the display showed, in order. */
  shown: string[];
  key(code: string): void;
}

export async function startPos(station: TestStation, pos: Record<string, unknown>): Promise<PosHost> {
  const h = await startTestHost(station, posKind, 'pos-1', {
    parts: { nfc: { driver: 'sim' }, codeReader: { driver: 'sim' } },
    pos: { resultShowMs: 600, tapTimeoutMs: 5_000, settleTimeoutMs: 3_000, ...pos },
  });
  const shown: string[] = [];
  const display = h.sim.display;
  const show = display.show.bind(display);
  display.show = (text: string) => {
    shown.push(text);
    show(text);
  };
  const key = (code: string): void => {
    if (!h.sim.keypad!.scan(code, { keypad: /^[0-9.+\-*/]+$/.test(code) })) throw new Error('keypad not running');
  };
  return { ...h, program: h.host.program as PosProgram, shown, key };
}

/** A demo wallet's phone with the wallet API at the station's HTTP address (or `baseUrl`). */
export async function apiPhone(station: TestStation, name: string, o: { baseUrl?: string; client?: (c: WalletApiClient) => WalletApiClient; phone?: Partial<SimulatedPhoneOptions> } = {}): Promise<SimulatedPhone> {
  const w = station.demo.wallets.find((x) => x.name === name)!;
  const walletKey = Buffer.from(w.walletKey, 'base64');
  const plain = new WalletApiClient({ baseUrl: o.baseUrl ?? station.gw.urls.http, walletId: w.walletId, walletKey, timeoutMs: 3_000 });
  return SimulatedPhone.open({ walletId: w.walletId, walletKey, walletApi: o.client ? o.client(plain) : plain, ...o.phone });
}

export async function merchantBalance(station: TestStation): Promise<number> {
  return (await station.gw.core.store.getAccount(station.demo.merchant))!.balance;
}
