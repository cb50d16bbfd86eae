/**
 * One phone of the station: a SimulatedPhone for a demo wallet whose counter
 * lives in <data>/station/phones/<name>.counter.json (so a restarted station
 * never replays a counter the core has seen), and whose holdings — tickets,
 * the admission of an open journey, e-money — are saved after every tap to
 * <name>.holdings.json and restored at start, so a journey begun before a
 * restart can end after it. Also what the dashboard shows of it.
 */
import { z } from 'zod';
import { putMode } from '../../protocol/applet.ts';
import { Admission, EmoneyToken, Ticket, WalletId, formatMoney } from '../../protocol/index.ts';
import { appletDataLimits } from '../../protocol/applet.ts';
import { SimulatedPhone } from '../phone/phone.ts';
import { StationError } from './errors.ts';
import { readStationJson, writePrivateFile } from './station-data.ts';
import type { StationPaths } from './station-data.ts';

export interface PhoneWallet {
  walletId: string;
  /** base64, as the demo credentials hold it. */
  walletKey: string;
  account: string;
}

const HoldingsFile = z.strictObject({
  v: z.literal(1),
  walletId: WalletId,
  tickets: z.array(Ticket).max(appletDataLimits.ticketsHeldMax),
  admission: Admission.nullable(),
  emoney: z.array(EmoneyToken).max(appletDataLimits.emoneyTokensHeldMax),
});

const clock = (ms: number): string => new Date(ms).toTimeString().slice(0, 5);

export class StationPhone {
  /** The device whose reader the phone is on, while a tap runs. */
  busyOn: string | null = null;

  private constructor(readonly name: string, readonly wallet: PhoneWallet, readonly phone: SimulatedPhone, private readonly holdingsPath: string) {}

  static async open(name: string, wallet: PhoneWallet, paths: StationPaths): Promise<StationPhone> {
    const phone = await SimulatedPhone.open({
      walletId: wallet.walletId, walletKey: Buffer.from(wallet.walletKey, 'base64'), counterFile: paths.counter(name),
    });
    const p = new StationPhone(name, wallet, phone, paths.holdings(name));
    p.restore();
    return p;
  }

  /** Writes what the phone holds now; called after every tap. */
  save(): void {
    const h = this.phone.holdings;
    const body = { v: 1, walletId: this.wallet.walletId, tickets: h.tickets(), admission: h.admission(), emoney: h.emoney() };
    writePrivateFile(this.holdingsPath, `${JSON.stringify(body)}\n`);
  }

  private restore(): void {
    const raw = readStationJson(this.holdingsPath);
    if (raw === null) return;
    const parsed = HoldingsFile.safeParse(raw);
    if (!parsed.success || parsed.data.walletId !== this.wallet.walletId) {
      const why = parsed.success ? `it belongs to wallet ${parsed.data.walletId}` : `${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''}`;
      throw new StationError('TS_ERR_STATION_DATA', `${this.holdingsPath}: not ${this.name}'s holdings (${why}); remove the file to start the phone empty`);
    }
    const h = this.phone.holdings;
    h.putTickets(parsed.data.tickets, putMode.replaceAll);
    h.putAdmissions(parsed.data.admission ? [parsed.data.admission] : []);
    h.putEmoney(parsed.data.emoney, putMode.replaceAll);
  }

  /** One line per ticket: "single-ride, 1 use, until 15:30" (or "expired"). */
  tickets(now: number): string[] {
    return this.phone.holdings.tickets().map((t) => {
      const uses = `${t.uses} use${t.uses === 1 ? '' : 's'}`;
      return now >= t.validUntil ? `${t.product}, ${uses}, expired` : `${t.product}, ${uses}, until ${clock(t.validUntil)}`;
    });
  }

  /** "in at central (gate-entry-1) since 14:02", or null outside the transit system. */
  admission(): string | null {
    const a = this.phone.holdings.admission();
    return a ? `in at ${a.station} (${a.gate}) since ${clock(a.enteredAt)}` : null;
  }

  /** "4.00 EUR on the phone (2 tokens)", or null without e-money. */
  emoney(): string | null {
    const tokens = this.phone.holdings.emoney();
    if (tokens.length === 0) return null;
    const sums = new Map<string, number>();
    for (const t of tokens) sums.set(t.amount.currency, (sums.get(t.amount.currency) ?? 0) + t.amount.minor);
    const amounts = [...sums].map(([currency, minor]) => formatMoney(minor, currency)).join(' + ');
    return `${amounts} on the phone (${tokens.length} token${tokens.length === 1 ? '' : 's'})`;
  }
}
