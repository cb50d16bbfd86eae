/**
 * The device host's side of the phone wallet applet (protocol/applet.ts):
 * SELECT, then the applet's instructions, over anything that exchanges APDUs
 * — an NfcReader (hardware/nfc-reader.ts) on a Pi, a direct in-memory link
 * to a simulated phone in tests. It chains long commands, fetches long
 * answers with GET RESPONSE, and turns every status word other than 9000
 * into a WalletAppletError with a stable code.
 */
import {
  AppletCodecError, appletCommands, appletData, appletDataLimits, appletVersion, apduLimits, chainCommand,
  decodeResponseApdu, encodeCommandApdu, isMoreData, moreDataBytes, putMode, sw, swErrorCode,
} from '../protocol/applet.ts';
import type { AuthorizeCommand, CommandApdu, DataCodec, PhoneSettleCommand, ResponseApdu, SelectResponse, WalletInfo } from '../protocol/applet.ts';
import type { CardData } from '../protocol/card-data.ts';
import type { Admission, EmoneyToken, Ticket, WalletAuth } from '../protocol/index.ts';

/** The one thing the client needs from a reader; NfcReader satisfies it. */
export type ApduTransport = { exchange(apdu: Uint8Array, opts: { timeoutMs: number }): Promise<Uint8Array> };

export type WalletClientErrorCode =
  /** The phone's data or framing broke the applet's encoding: a different app, or a bug on the phone. */
  | 'TS_ERR_APPLET_BAD_RESPONSE'
  /** The applet speaks another version of the APDU set. */
  | 'TS_ERR_APPLET_VERSION'
  /** The caller asked to send something the encoding cannot carry (the message says which field). */
  | 'TS_ERR_APPLET_BAD_REQUEST'
  /** A WalletClient option is out of range. */
  | 'TS_ERR_APPLET_OPTION';

/** A refusal by the applet (`sw` set; code from swErrorCodes) or a dialogue that went wrong (`sw` null or 9000). */
export class WalletAppletError extends Error {
  override readonly name = 'WalletAppletError';
  readonly code: string;
  readonly sw: number | null;
  constructor(code: string, sw: number | null, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.sw = sw;
  }
}

const hex4 = (status: number): string => status.toString(16).toUpperCase().padStart(4, '0');
const statusError = (status: number, what: string): WalletAppletError =>
  new WalletAppletError(swErrorCode(status), status, `${what}: the applet answered ${hex4(status)}`);

export interface WalletClientOptions {
  /** One APDU round trip. */
  exchangeTimeoutMs?: number;
  /** Data bytes per chained command APDU (lower it for a reader with small frames). */
  commandChunkBytes?: number;
  /** Response bytes asked for per APDU (Ne), the initial answer and every GET RESPONSE. */
  responseChunkBytes?: number;
}

export const walletClientDefaults = {
  /** A phone answers an HCE APDU in 10–100 ms; 1 s covers a slow one with frame-waiting extensions and stays under a gate's patience. */
  exchangeTimeoutMs: 1000,
  commandChunkBytes: apduLimits.commandChunkBytesMax,
  responseChunkBytes: apduLimits.responseChunkBytesMax,
} as const;
/** No single exchange may wait longer than this: a user will not hold a phone still for a minute. */
export const exchangeTimeoutMsMax = 60_000;

function checkOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new WalletAppletError('TS_ERR_APPLET_OPTION', null, `${name}: ${value} is not an integer ${min}..${max}`);
  }
  return value;
}

export class WalletClient {
  private readonly transport: ApduTransport;
  private readonly timeoutMs: number;
  private readonly commandChunkBytes: number;
  private readonly responseChunkBytes: number;
  /** GET RESPONSE rounds one answer may take: the largest answer in the smallest chunks, plus the first. */
  private readonly getResponseRoundsMax: number;

  constructor(transport: ApduTransport, options: WalletClientOptions = {}) {
    this.transport = transport;
    this.timeoutMs = checkOption('exchangeTimeoutMs', options.exchangeTimeoutMs ?? walletClientDefaults.exchangeTimeoutMs, 1, exchangeTimeoutMsMax);
    this.commandChunkBytes = checkOption('commandChunkBytes', options.commandChunkBytes ?? walletClientDefaults.commandChunkBytes, 1, apduLimits.commandChunkBytesMax);
    this.responseChunkBytes = checkOption('responseChunkBytes', options.responseChunkBytes ?? walletClientDefaults.responseChunkBytes, 1, apduLimits.responseChunkBytesMax);
    this.getResponseRoundsMax = Math.ceil(appletDataLimits.responseDataBytesMax / this.responseChunkBytes) + 1;
  }

  /** SELECT the wallet applet; required after every activation. Refuses an applet of another version. */
  async select(): Promise<SelectResponse> {
    const answer = await this.call(appletCommands.select(), appletData.select, 'SELECT');
    if (answer.appletVersion !== appletVersion) {
      throw new WalletAppletError('TS_ERR_APPLET_VERSION', sw.ok, `the phone's applet is version ${answer.appletVersion}, this host speaks ${appletVersion}`);
    }
    return answer;
  }

  getWallet(): Promise<WalletInfo> {
    return this.call(appletCommands.getWallet(), appletData.walletInfo, 'GET WALLET');
  }

  /** The phone's authorization of one purchase, ready to go into a SettleRequest as `wallet`. */
  async authorizePurchase(request: AuthorizeCommand): Promise<WalletAuth> {
    const data = this.encode(appletData.authorizeCommand, request, 'AUTHORIZE PURCHASE');
    const answer = await this.call(appletCommands.authorizePurchase(data), appletData.authorizeResponse, 'AUTHORIZE PURCHASE');
    return { walletId: answer.walletId, counter: answer.counter, deviceNonce: request.deviceNonce, cryptogram: answer.cryptogram };
  }

  /** Claim 9: the phone's authorization, which the phone itself then settles through the wallet API under `request.requestId`. */
  async authorizePhoneSettle(request: PhoneSettleCommand): Promise<WalletAuth> {
    const data = this.encode(appletData.phoneSettleCommand, request, 'AUTHORIZE PURCHASE, PHONE SETTLES');
    const answer = await this.call(appletCommands.authorizePhoneSettle(data), appletData.authorizeResponse, 'AUTHORIZE PURCHASE, PHONE SETTLES');
    return { walletId: answer.walletId, counter: answer.counter, deviceNonce: request.deviceNonce, cryptogram: answer.cryptogram };
  }

  /** Writes the admission info of a journey; null clears it (the journey ended). */
  async putAdmission(admission: Admission | null): Promise<void> {
    const data = this.encode(appletData.admissions, admission ? [admission] : [], 'PUT ADMISSION');
    await this.transmit(appletCommands.putAdmission(data), 'PUT ADMISSION');
  }

  async getAdmission(): Promise<Admission | null> {
    const list = await this.call(appletCommands.getAdmission(), appletData.admissions, 'GET ADMISSION');
    return list[0] ?? null;
  }

  /** Adds tickets (one with the same ticketId is replaced) or, with replaceAll, replaces every ticket held. */
  async putTickets(tickets: readonly Ticket[], opts: { replaceAll?: boolean } = {}): Promise<void> {
    const data = this.encode(appletData.tickets, [...tickets], 'PUT TICKET');
    await this.transmit(appletCommands.putTicket(data, opts.replaceAll === true ? putMode.replaceAll : putMode.add), 'PUT TICKET');
  }

  getTickets(): Promise<Ticket[]> {
    return this.call(appletCommands.getTicket(), appletData.tickets, 'GET TICKET');
  }

  /** The ticket at `index` (0-based, in the order getTickets lists them); TS_ERR_APPLET_RECORD_NOT_FOUND past the end. */
  async getTicket(index: number): Promise<Ticket> {
    checkOption('ticket index', index, 0, appletDataLimits.ticketsHeldMax - 1);
    const list = await this.call(appletCommands.getTicket(index), appletData.tickets, 'GET TICKET');
    const ticket = list[0];
    if (list.length !== 1 || !ticket) throw new WalletAppletError('TS_ERR_APPLET_BAD_RESPONSE', sw.ok, `GET TICKET ${index}: ${list.length} tickets in the answer, expected 1`);
    return ticket;
  }

  /** Adds e-money tokens (same serial replaced) or, with replaceAll, replaces every token held (spent ones dropped). */
  async putEmoney(tokens: readonly EmoneyToken[], opts: { replaceAll?: boolean } = {}): Promise<void> {
    const data = this.encode(appletData.emoneyTokens, [...tokens], 'PUT EMONEY');
    await this.transmit(appletCommands.putEmoney(data, opts.replaceAll === true ? putMode.replaceAll : putMode.add), 'PUT EMONEY');
  }

  getEmoney(): Promise<EmoneyToken[]> {
    return this.call(appletCommands.getEmoney(), appletData.emoneyTokens, 'GET EMONEY');
  }

  /**
   * Claim 36: the payment card at `index` (0-based) for the card processing
   * apparatus. The phone asks its user first: a refusal is
   * TS_ERR_APPLET_CONDITIONS (6985), no card there TS_ERR_APPLET_RECORD_NOT_FOUND.
   * What comes back is card data: it is never logged, and errors never quote it.
   */
  getCard(index = 0): Promise<CardData> {
    checkOption('card index', index, 0, appletDataLimits.cardsHeldMax - 1);
    return this.call(appletCommands.getCard(index), appletData.card, 'GET CARD');
  }

  private encode<T>(codec: DataCodec<T>, value: T, what: string): Uint8Array {
    try {
      return codec.encode(value);
    } catch (err) {
      if (err instanceof AppletCodecError) throw new WalletAppletError('TS_ERR_APPLET_BAD_REQUEST', null, `${what}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  private async call<T>(cmd: CommandApdu, codec: DataCodec<T>, what: string): Promise<T> {
    const data = await this.transmit(cmd, what);
    try {
      return codec.decode(data);
    } catch (err) {
      if (err instanceof AppletCodecError) throw new WalletAppletError('TS_ERR_APPLET_BAD_RESPONSE', sw.ok, `${what}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** One command, chained if long, its answer collected over GET RESPONSE; bounded in chunks, bytes and time. */
  private async transmit(cmd: CommandApdu, what: string): Promise<Uint8Array> {
    const chunks = chainCommand({ ...cmd, ne: this.responseChunkBytes }, this.commandChunkBytes);
    let response: ResponseApdu | null = null;
    for (const chunk of chunks) {
      if (response && response.sw !== sw.ok) throw statusError(response.sw, `${what} (chained)`);
      response = await this.exchange(chunk, what);
    }
    if (!response) throw new WalletAppletError('TS_ERR_APPLET_BAD_REQUEST', null, `${what}: nothing to send`);
    const parts = [response.data];
    let bytes = response.data.byteLength;
    for (let round = 0; isMoreData(response.sw); round += 1) {
      if (round >= this.getResponseRoundsMax) throw new WalletAppletError('TS_ERR_APPLET_BAD_RESPONSE', response.sw, `${what}: more than ${round} GET RESPONSE rounds`);
      response = await this.exchange(appletCommands.getResponse(Math.min(moreDataBytes(response.sw), this.responseChunkBytes)), what);
      bytes += response.data.byteLength;
      if (bytes > appletDataLimits.responseDataBytesMax) {
        throw new WalletAppletError('TS_ERR_APPLET_BAD_RESPONSE', response.sw, `${what}: answer longer than ${appletDataLimits.responseDataBytesMax} bytes`);
      }
      parts.push(response.data);
    }
    if (response.sw !== sw.ok) throw statusError(response.sw, what);
    return Buffer.concat(parts);
  }

  private async exchange(cmd: CommandApdu, what: string): Promise<ResponseApdu> {
    const raw = await this.transport.exchange(encodeCommandApdu(cmd), { timeoutMs: this.timeoutMs });
    try {
      return decodeResponseApdu(raw);
    } catch (err) {
      if (err instanceof AppletCodecError) throw new WalletAppletError('TS_ERR_APPLET_BAD_RESPONSE', null, `${what}: ${err.message}`, { cause: err });
      throw err;
    }
  }
}
