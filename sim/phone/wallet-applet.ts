/**
 * The wallet app's host-card-emulation service: what Android hands every APDU
 * to once a SELECT of our AID has routed the session here (the routing itself
 * is the phone's job, phone.ts). As on a real phone, command chaining and GET
 * RESPONSE are the app's business, not the OS's: this class reassembles
 * chained commands, splits long answers into 61xx + GET RESPONSE, and runs
 * the instructions of protocol/applet.ts.
 */
import {
  AppletCodecError, appletData, appletDataLimits, appletVersion, cla, decodeCommandApdu, encodeResponseApdu,
  getTicketMode, ins, moreDataSw, sw,
} from '../../protocol/applet.ts';
import type { AuthorizeCommand, CommandApdu, PhoneSettleCommand } from '../../protocol/applet.ts';
import { limits, walletCryptogram } from '../../protocol/index.ts';
import type { SettleRequest } from '../../protocol/index.ts';
import { CardHoldings } from './card-holdings.ts';
import type { HeldCardView } from './card-holdings.ts';
import type { CounterStore } from './counter-store.ts';
import { WalletHoldings } from './wallet-holdings.ts';

/**
 * What the user is asked to allow: a purchase (AUTHORIZE PURCHASE, with or
 * without PHONE SETTLES), or handing a payment card's data to the device
 * (GET CARD, claim 36) — shown masked, as a phone's prompt shows it.
 */
export type ConsentRequest =
  | ({ kind: 'purchase' } & AuthorizeCommand)
  | { kind: 'card-read'; card: HeldCardView };

/**
 * Asked before every purchase and every card read; answering false (a user
 * who declines) makes the applet answer 6985. A phone without a hook
 * consents to both (a simulation's default user says yes).
 */
export type ConsentHook = (request: ConsentRequest) => boolean | Promise<boolean>;

/**
 * Claim 9: takes the SettleRequest the phone built after AUTHORIZE PURCHASE,
 * PHONE SETTLES and sends it through the wallet API, in the background (the
 * applet answers the reader at once; NFC does not wait for HTTP).
 */
export type PhoneSettleHook = (request: SettleRequest) => void;

export interface WalletAppletParts {
  walletId: string;
  walletKey: Uint8Array;
  store: CounterStore;
  /** The last counter value used, as loaded from the store. */
  counter: number;
  consent?: ConsentHook | undefined;
  /** A user who has not answered the consent prompt by then has declined. */
  consentTimeoutMs: number;
  /** Absent: the phone cannot reach the wallet API and answers AUTHORIZE PURCHASE, PHONE SETTLES with 6985. */
  phoneSettle?: PhoneSettleHook | undefined;
}

/** The hook's answer, or false once `timeoutMs` has passed without one. */
async function askWithin(consent: ConsentHook, request: ConsentRequest, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve(consent(request)), silence]);
  } finally {
    clearTimeout(timer);
  }
}

interface Answer {
  data: Uint8Array;
  status: number;
}

const empty = new Uint8Array(0);
const ok = (data: Uint8Array = empty): Answer => ({ data, status: sw.ok });
/** A bare status word: a refusal, or 9000 after a PUT. */
const statusOnly = (status: number): Answer => ({ data: empty, status });
/** A command without Le is answered as if it asked for a full short response: hosts differ, and refusing would gain nothing. */
const fullChunk = 256;

interface Chain {
  ins: number;
  p1: number;
  p2: number;
  parts: Uint8Array[];
  bytes: number;
}

export class WalletApplet {
  readonly holdings: WalletHoldings;
  /** Payment cards (claim 36), read by GET CARD. */
  readonly cards = new CardHoldings();
  private readonly walletId: string;
  private readonly walletKey: Uint8Array;
  private readonly store: CounterStore;
  private readonly consent: ConsentHook | undefined;
  private readonly consentTimeoutMs: number;
  private readonly phoneSettle: PhoneSettleHook | undefined;
  /** The last counter value a cryptogram used. */
  private counter: number;
  private chain: Chain | null = null;
  /** Response bytes waiting for GET RESPONSE. */
  private pending: Uint8Array | null = null;

  constructor(parts: WalletAppletParts) {
    this.walletId = parts.walletId;
    this.walletKey = parts.walletKey;
    this.store = parts.store;
    this.counter = parts.counter;
    this.consent = parts.consent;
    this.consentTimeoutMs = parts.consentTimeoutMs;
    this.phoneSettle = parts.phoneSettle;
    this.holdings = new WalletHoldings(parts.walletId);
  }

  get lastCounter(): number {
    return this.counter;
  }

  /** The session ended (deselected, released, left the field): half-sent commands and answers are dropped. */
  reset(): void {
    this.chain = null;
    this.pending = null;
  }

  /** One command APDU in, one response APDU out. Never rejects: every failure is a status word. */
  async process(apdu: Uint8Array): Promise<Uint8Array> {
    try {
      const cmd = decodeCommandApdu(apdu);
      if (cmd.cla === cla.iso && cmd.ins === ins.getResponse) return this.getResponse(cmd);
      // ISO 7816-4: any other command discards response data not yet fetched.
      this.pending = null;
      const answer = await this.dispatch(cmd);
      return this.respond(answer, cmd.ne ?? fullChunk);
    } catch (err) {
      this.chain = null;
      // 6F00 is what an app answers for a fault of its own (a failed counter write): no cryptogram leaves the phone.
      return encodeResponseApdu(empty, err instanceof AppletCodecError ? err.sw : sw.unknown);
    }
  }

  private async dispatch(cmd: CommandApdu): Promise<Answer> {
    const ours = cmd.cla === cla.proprietary || cmd.cla === (cla.proprietary | cla.chainingBit);
    // Anything but the next chunk of a chain ends that chain (ISO 7816-4).
    if (!ours) this.chain = null;
    if (cmd.cla === cla.iso && cmd.ins === ins.select) return ok(appletData.select.encode({ appletVersion }));
    if (cmd.cla === cla.iso) return statusOnly(sw.insNotSupported);
    if (!ours) return statusOnly(sw.claNotSupported);
    const whole = this.reassemble(cmd);
    if ('status' in whole) return whole;
    return this.execute(whole);
  }

  /** Command chaining: collects chunks (CLA bit 0x10) until the last one, bounded by commandDataBytesMax. */
  private reassemble(cmd: CommandApdu): CommandApdu | Answer {
    const chained = (cmd.cla & cla.chainingBit) !== 0;
    const chain = this.chain;
    this.chain = null;
    if (chain && (chain.ins !== cmd.ins || chain.p1 !== cmd.p1 || chain.p2 !== cmd.p2)) return statusOnly(sw.conditionsNotSatisfied);
    if (!chain && !chained) return cmd;
    // An empty chunk would let a chain grow forever without growing its byte count.
    if (cmd.data.byteLength === 0) return statusOnly(sw.wrongLength);
    const bytes = (chain?.bytes ?? 0) + cmd.data.byteLength;
    if (bytes > appletDataLimits.commandDataBytesMax) return statusOnly(sw.wrongLength);
    const parts = [...(chain?.parts ?? []), cmd.data];
    if (chained) {
      this.chain = { ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, parts, bytes };
      return ok();
    }
    return { ...cmd, cla: cla.proprietary, data: Buffer.concat(parts) };
  }

  private async execute(cmd: CommandApdu): Promise<Answer> {
    const { p1, p2, data } = cmd;
    const noParams = p1 === 0 && p2 === 0;
    const noData = data.byteLength === 0;
    switch (cmd.ins) {
      case ins.getWallet:
        if (!noParams) return statusOnly(sw.incorrectP1P2);
        if (!noData) return statusOnly(sw.wrongLength);
        return ok(appletData.walletInfo.encode({ walletId: this.walletId, counter: this.counter }));
      case ins.authorizePurchase:
        if (!noParams) return statusOnly(sw.incorrectP1P2);
        return this.authorize(appletData.authorizeCommand.decode(data));
      case ins.authorizePhoneSettle:
        if (!noParams) return statusOnly(sw.incorrectP1P2);
        return this.authorizeAndSettle(appletData.phoneSettleCommand.decode(data));
      case ins.putAdmission:
        if (!noParams) return statusOnly(sw.incorrectP1P2);
        return statusOnly(this.holdings.putAdmissions(appletData.admissions.decode(data)));
      case ins.getAdmission: {
        if (!noParams) return statusOnly(sw.incorrectP1P2);
        if (!noData) return statusOnly(sw.wrongLength);
        const admission = this.holdings.admission();
        return ok(appletData.admissions.encode(admission ? [admission] : []));
      }
      case ins.putTicket:
        if (p2 !== 0) return statusOnly(sw.incorrectP1P2);
        return statusOnly(this.holdings.putTickets(appletData.tickets.decode(data), p1));
      case ins.getTicket:
        if (!noData) return statusOnly(sw.wrongLength);
        return this.getTickets(p1, p2);
      case ins.putEmoney:
        if (p2 !== 0) return statusOnly(sw.incorrectP1P2);
        return statusOnly(this.holdings.putEmoney(appletData.emoneyTokens.decode(data), p1));
      case ins.getEmoney:
        if (!noParams) return statusOnly(sw.incorrectP1P2);
        if (!noData) return statusOnly(sw.wrongLength);
        return ok(appletData.emoneyTokens.encode([...this.holdings.emoney()]));
      case ins.getCard:
        if (p2 !== 0) return statusOnly(sw.incorrectP1P2);
        if (!noData) return statusOnly(sw.wrongLength);
        return this.readCard(p1);
      default:
        return statusOnly(sw.insNotSupported);
    }
  }

  private async authorize(request: AuthorizeCommand): Promise<Answer> {
    const auth = await this.cryptogramFor(request);
    return auth === null ? statusOnly(sw.conditionsNotSatisfied) : ok(appletData.authorizeResponse.encode(auth));
  }

  /** GET CARD (claim 36): the card at `index`, once the user allowed it; 6A83 when there is none, 6985 when the user says no. */
  private async readCard(index: number): Promise<Answer> {
    const card = this.cards.get(index);
    if (!card) return statusOnly(sw.recordNotFound);
    const view = this.cards.list()[index]!;
    if (this.consent && !(await askWithin(this.consent, { kind: 'card-read', card: view }, this.consentTimeoutMs))) return statusOnly(sw.conditionsNotSatisfied);
    // Read again: the owner may have removed the card while the prompt was up.
    const still = this.cards.get(index);
    return still ? ok(appletData.card.encode(still)) : statusOnly(sw.recordNotFound);
  }

  /** Claim 9: authorizes as AUTHORIZE PURCHASE, then hands the whole SettleRequest to the phone to send. */
  private async authorizeAndSettle(request: PhoneSettleCommand): Promise<Answer> {
    const send = this.phoneSettle;
    if (send === undefined) return statusOnly(sw.conditionsNotSatisfied);
    const auth = await this.cryptogramFor(request);
    if (auth === null) return statusOnly(sw.conditionsNotSatisfied);
    send({
      v: limits.protocolVersion, type: 'settle', requestId: request.requestId, sentAt: Date.now(), deviceId: request.deviceId,
      purchase: request.purchase, wallet: { ...auth, deviceNonce: request.deviceNonce }, outcomeDeadlineSec: request.outcomeDeadlineSec,
    });
    return ok(appletData.authorizeResponse.encode(auth));
  }

  /** Asks the user, uses the next counter (saved first) and computes the cryptogram; null when the user or the counter says no. */
  private async cryptogramFor(request: AuthorizeCommand): Promise<{ walletId: string; counter: number; cryptogram: string } | null> {
    const asked: ConsentRequest = { kind: 'purchase', deviceId: request.deviceId, purchase: request.purchase, deviceNonce: request.deviceNonce };
    if (this.consent && !(await askWithin(this.consent, asked, this.consentTimeoutMs))) return null;
    // An exhausted counter cannot make a fresh cryptogram: the wallet must be re-enrolled.
    if (this.counter >= limits.walletCounterMax) return null;
    const counter = this.counter + 1;
    await this.store.save(counter);
    this.counter = counter;
    const cryptogram = walletCryptogram(this.walletKey, {
      walletId: this.walletId, deviceId: request.deviceId, purchase: request.purchase, deviceNonce: request.deviceNonce, counter,
    });
    return { walletId: this.walletId, counter, cryptogram };
  }

  private getTickets(p1: number, p2: number): Answer {
    const tickets = this.holdings.tickets();
    if (p2 === getTicketMode.all && p1 === 0) return ok(appletData.tickets.encode([...tickets]));
    if (p2 !== getTicketMode.byIndex) return statusOnly(sw.incorrectP1P2);
    const ticket = tickets[p1];
    return ticket ? ok(appletData.tickets.encode([ticket])) : statusOnly(sw.recordNotFound);
  }

  private getResponse(cmd: CommandApdu): Uint8Array {
    this.chain = null;
    if (cmd.p1 !== 0 || cmd.p2 !== 0) return encodeResponseApdu(empty, sw.incorrectP1P2);
    if (cmd.data.byteLength !== 0) return encodeResponseApdu(empty, sw.wrongLength);
    const pending = this.pending;
    this.pending = null;
    if (!pending) return encodeResponseApdu(empty, sw.conditionsNotSatisfied);
    return this.respond(ok(pending), cmd.ne ?? fullChunk);
  }

  /** Sends at most `ne` bytes now; the rest waits for GET RESPONSE behind a 61xx. */
  private respond(answer: Answer, ne: number): Uint8Array {
    if (answer.data.byteLength <= ne) return encodeResponseApdu(answer.data, answer.status);
    this.pending = answer.data.subarray(ne);
    return encodeResponseApdu(answer.data.subarray(0, ne), moreDataSw(this.pending.byteLength));
  }
}
