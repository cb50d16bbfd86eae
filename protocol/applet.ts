/**
 * The phone wallet applet's APDU set (DESIGN §5, §8, §9): the one definition
 * both the device host (hardware/wallet-client.ts) and the simulated phone
 * (sim/phone) speak. docs/hardware.md "The wallet applet" is its reference.
 *
 * Framing: short ISO 7816-4 APDUs only (Lc ≤ 255, Ne ≤ 256), because the
 * PN532 and many phones never negotiate extended length. Longer data travels
 *   in:  by command chaining — every chunk but the last has CLA bit 0x10;
 *        the applet answers 9000 to each and acts on the last;
 *   out: by GET RESPONSE — the applet answers up to Ne bytes with 61xx
 *        (xx = bytes left, 00 = 256 or more) and the host fetches the rest
 *        with 00 C0 00 00 Le.
 * Data fields: one encoding-version byte, then TLV items (applet-tlv.ts);
 * everything decoded is bounded and validated with the protocol's zod
 * schemas. Encoders and decoders throw only AppletCodecError.
 */
import { z } from 'zod';
import { AppletCodecError, appletDataLimits, listCodec, recordCodec } from './applet-tlv.ts';
import { CardData } from './card-data.ts';
import { Admission, EmoneyToken, Ticket } from './documents.ts';
import { DeviceId, Mac, Nonce, UuidV7, WalletId } from './ids.ts';
import { limits } from './limits.ts';
import { Purchase } from './messages.ts';

export { AppletCodecError, appletDataLimits, appletDataVersion, appletListTags, appletTags } from './applet-tlv.ts';
export type { AppletCodecErrorCode, DataCodec } from './applet-tlv.ts';

/** Proprietary AID: F0 then "TAPSET" in ASCII. Starts with F (proprietary) and is ≥ 6 bytes, as Android asks. */
export const walletAid = Uint8Array.of(0xf0, 0x54, 0x41, 0x50, 0x53, 0x45, 0x54);

/** Bumped when an instruction changes meaning; SELECT reports it. */
export const appletVersion = 1;

export const cla = {
  /** Interindustry class: SELECT and GET RESPONSE. */
  iso: 0x00,
  /** Proprietary class: this applet's own instructions. */
  proprietary: 0x80,
  /** ISO 7816-4 command-chaining bit: "more chunks of this command follow". */
  chainingBit: 0x10,
} as const;

export const ins = {
  select: 0xa4,
  getResponse: 0xc0,
  getWallet: 0x10,
  authorizePurchase: 0x20,
  /**
   * Claim 9: AUTHORIZE PURCHASE, PHONE SETTLES. As AUTHORIZE PURCHASE, plus the
   * requestId the terminal chose and the outcome deadline; the phone answers
   * the same authorization and then sends the SettleRequest itself, through
   * the wallet API, under that requestId. An applet that cannot reach the
   * wallet API answers 6985 before it uses a counter.
   */
  authorizePhoneSettle: 0x22,
  putAdmission: 0x30,
  getAdmission: 0x32,
  putTicket: 0x40,
  getTicket: 0x42,
  putEmoney: 0x50,
  getEmoney: 0x52,
  /** Claim 36: the card at index P1 (P2 = 0), for a device host to send to the card processing apparatus. */
  getCard: 0x60,
} as const;

/** P1 of PUT TICKET / PUT EMONEY. */
export const putMode = { add: 0x00, replaceAll: 0x01 } as const;
/** P2 of GET TICKET: every ticket, or the one at index P1. */
export const getTicketMode = { all: 0x00, byIndex: 0x01 } as const;

export const sw = {
  ok: 0x9000,
  /** 61xx: xx more bytes wait for GET RESPONSE (00 = 256 or more). */
  moreData: 0x6100,
  wrongLength: 0x6700,
  conditionsNotSatisfied: 0x6985,
  wrongData: 0x6a80,
  appletNotFound: 0x6a82,
  recordNotFound: 0x6a83,
  notEnoughMemory: 0x6a84,
  incorrectP1P2: 0x6a86,
  insNotSupported: 0x6d00,
  claNotSupported: 0x6e00,
  unknown: 0x6f00,
} as const;

/** Stable error codes for every refusal the applet can answer; docs/hardware.md explains each. */
export const swErrorCodes: ReadonlyMap<number, string> = new Map([
  [sw.wrongLength, 'TS_ERR_APPLET_WRONG_LENGTH'],
  [sw.conditionsNotSatisfied, 'TS_ERR_APPLET_CONDITIONS'],
  [sw.wrongData, 'TS_ERR_APPLET_WRONG_DATA'],
  [sw.appletNotFound, 'TS_ERR_APPLET_NOT_FOUND'],
  [sw.recordNotFound, 'TS_ERR_APPLET_RECORD_NOT_FOUND'],
  [sw.notEnoughMemory, 'TS_ERR_APPLET_FULL'],
  [sw.incorrectP1P2, 'TS_ERR_APPLET_P1P2'],
  [sw.insNotSupported, 'TS_ERR_APPLET_INS_NOT_SUPPORTED'],
  [sw.claNotSupported, 'TS_ERR_APPLET_CLA_NOT_SUPPORTED'],
  [sw.unknown, 'TS_ERR_APPLET_UNKNOWN'],
]);

export const swErrorCode = (status: number): string => swErrorCodes.get(status) ?? 'TS_ERR_APPLET_STATUS';
export const isMoreData = (status: number): boolean => (status & 0xff00) === sw.moreData;
/** The 61xx word for `remaining` bytes still to fetch. */
export const moreDataSw = (remaining: number): number => sw.moreData | (remaining >= 256 ? 0 : remaining);
/** Bytes announced by a 61xx word (00 means "256 or more": ask for a full chunk). */
export const moreDataBytes = (status: number): number => (status & 0xff) || 256;

export const apduLimits = {
  /** Short APDU: Lc is one byte. */
  commandChunkBytesMax: 255,
  /** Short APDU: Le = 00 asks for 256 bytes. */
  responseChunkBytesMax: 256,
  /** CLA INS P1 P2 Lc data Le. */
  commandApduBytesMax: 4 + 1 + 255 + 1,
  /** data + SW1 SW2. */
  responseApduBytesMax: 256 + 2,
} as const;

/** One command APDU. `ne` is the response length expected (1..256), null when Le is absent. */
export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  ne: number | null;
}

export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

const isByte = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xff;

export function encodeCommandApdu(cmd: CommandApdu): Uint8Array {
  if (![cmd.cla, cmd.ins, cmd.p1, cmd.p2].every(isByte)) throw new AppletCodecError('TS_ERR_APPLET_WRONG_DATA', 'CLA, INS, P1 and P2 must be bytes');
  const lc = cmd.data.byteLength;
  if (lc > apduLimits.commandChunkBytesMax) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `command data ${lc} bytes, short APDU limit ${apduLimits.commandChunkBytesMax}: chain it`);
  if (cmd.ne !== null && !(Number.isInteger(cmd.ne) && cmd.ne >= 1 && cmd.ne <= apduLimits.responseChunkBytesMax)) {
    throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `Ne ${cmd.ne} is not 1..${apduLimits.responseChunkBytesMax}`);
  }
  const out = [cmd.cla, cmd.ins, cmd.p1, cmd.p2];
  if (lc > 0) out.push(lc, ...cmd.data);
  if (cmd.ne !== null) out.push(cmd.ne & 0xff);
  return Uint8Array.from(out);
}

/** Parses the four short-APDU cases of ISO 7816-3; extended length is refused (6700). */
export function decodeCommandApdu(bytes: Uint8Array): CommandApdu {
  const n = bytes.byteLength;
  if (n < 4 || n > apduLimits.commandApduBytesMax) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `command APDU of ${n} bytes`);
  const [c, i, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const head = { cla: c, ins: i, p1, p2 };
  if (n === 4) return { ...head, data: new Uint8Array(0), ne: null };
  const b4 = bytes[4]!;
  if (n === 5) return { ...head, data: new Uint8Array(0), ne: b4 || 256 };
  if (b4 === 0) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', 'extended-length APDUs are not supported');
  const data = bytes.slice(5, 5 + b4);
  if (n === 5 + b4) return { ...head, data, ne: null };
  if (n === 6 + b4) return { ...head, data, ne: bytes[n - 1]! || 256 };
  throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `Lc ${b4} does not match an APDU of ${n} bytes`);
}

export function encodeResponseApdu(data: Uint8Array, status: number): Uint8Array {
  if (data.byteLength > apduLimits.responseChunkBytesMax) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `response data ${data.byteLength} bytes`);
  if (!Number.isInteger(status) || status < 0 || status > 0xffff) throw new AppletCodecError('TS_ERR_APPLET_WRONG_DATA', `status ${status}`);
  const out = new Uint8Array(data.byteLength + 2);
  out.set(data, 0);
  out[data.byteLength] = status >> 8;
  out[data.byteLength + 1] = status & 0xff;
  return out;
}

export function decodeResponseApdu(bytes: Uint8Array): ResponseApdu {
  const n = bytes.byteLength;
  if (n < 2 || n > apduLimits.responseApduBytesMax) throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `response APDU of ${n} bytes`);
  return { data: bytes.slice(0, n - 2), sw: (bytes[n - 2]! << 8) | bytes[n - 1]! };
}

// ---- Commands, as the host builds them -------------------------------------

const fullChunk = apduLimits.responseChunkBytesMax;
const proprietary = (i: number, data: Uint8Array = new Uint8Array(0), p1 = 0, p2 = 0): CommandApdu => ({ cla: cla.proprietary, ins: i, p1, p2, data, ne: fullChunk });

export const appletCommands = {
  select: (): CommandApdu => ({ cla: cla.iso, ins: ins.select, p1: 0x04, p2: 0x00, data: walletAid, ne: fullChunk }),
  getResponse: (ne: number = fullChunk): CommandApdu => ({ cla: cla.iso, ins: ins.getResponse, p1: 0, p2: 0, data: new Uint8Array(0), ne }),
  getWallet: (): CommandApdu => proprietary(ins.getWallet),
  authorizePurchase: (data: Uint8Array): CommandApdu => proprietary(ins.authorizePurchase, data),
  authorizePhoneSettle: (data: Uint8Array): CommandApdu => proprietary(ins.authorizePhoneSettle, data),
  putAdmission: (data: Uint8Array): CommandApdu => proprietary(ins.putAdmission, data),
  getAdmission: (): CommandApdu => proprietary(ins.getAdmission),
  putTicket: (data: Uint8Array, mode: number = putMode.add): CommandApdu => proprietary(ins.putTicket, data, mode),
  getTicket: (index?: number): CommandApdu =>
    index === undefined ? proprietary(ins.getTicket) : proprietary(ins.getTicket, undefined, index, getTicketMode.byIndex),
  putEmoney: (data: Uint8Array, mode: number = putMode.add): CommandApdu => proprietary(ins.putEmoney, data, mode),
  getEmoney: (): CommandApdu => proprietary(ins.getEmoney),
  getCard: (index = 0): CommandApdu => proprietary(ins.getCard, undefined, index),
} as const;

/**
 * Splits a command whose data exceeds one short APDU into a chain: every
 * chunk but the last carries the chaining bit and no Le (nothing is expected
 * back but 9000); the last carries the command's own Le.
 */
export function chainCommand(cmd: CommandApdu, chunkBytes: number = apduLimits.commandChunkBytesMax): CommandApdu[] {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > apduLimits.commandChunkBytesMax) {
    throw new AppletCodecError('TS_ERR_APPLET_WRONG_LENGTH', `chunk size ${chunkBytes} is not 1..${apduLimits.commandChunkBytesMax}`);
  }
  if (cmd.data.byteLength <= chunkBytes) return [cmd];
  const chunks: CommandApdu[] = [];
  for (let offset = 0; offset < cmd.data.byteLength; offset += chunkBytes) {
    const last = offset + chunkBytes >= cmd.data.byteLength;
    const data = cmd.data.slice(offset, offset + chunkBytes);
    chunks.push(last ? { ...cmd, data } : { ...cmd, cla: cmd.cla | cla.chainingBit, data, ne: null });
  }
  return chunks;
}

// ---- The data of each instruction -------------------------------------------

const Counter = z.number().int().min(0).max(limits.walletCounterMax);

export const SelectResponse = z.strictObject({ appletVersion: z.number().int().min(1).max(0xff) });
export type SelectResponse = z.infer<typeof SelectResponse>;
export const WalletInfo = z.strictObject({ walletId: WalletId, counter: Counter });
export type WalletInfo = z.infer<typeof WalletInfo>;
export const AuthorizeCommand = z.strictObject({ deviceId: DeviceId, purchase: Purchase, deviceNonce: Nonce });
export type AuthorizeCommand = z.infer<typeof AuthorizeCommand>;
export const AuthorizeResponse = z.strictObject({ walletId: WalletId, counter: Counter, cryptogram: Mac });
export type AuthorizeResponse = z.infer<typeof AuthorizeResponse>;
/** Claim 9: what the phone needs to send the settling information itself. */
export const PhoneSettleCommand = z.strictObject({
  ...AuthorizeCommand.shape,
  requestId: UuidV7,
  outcomeDeadlineSec: z.number().int().min(1).max(limits.outcomeDeadlineSecMax),
});
export type PhoneSettleCommand = z.infer<typeof PhoneSettleCommand>;

const singleBytesMax = appletDataLimits.commandDataBytesMax;

export const appletData = {
  /** SELECT response. */
  select: recordCodec('select response', { fields: ['appletVersion'], schema: SelectResponse }, singleBytesMax),
  /** GET WALLET response. */
  walletInfo: recordCodec('wallet info', { fields: ['walletId', 'counter'], schema: WalletInfo }, singleBytesMax),
  /** AUTHORIZE PURCHASE command. */
  authorizeCommand: recordCodec('authorize command', {
    fields: ['deviceId', 'merchant', 'amountMinor', 'currency', 'article', 'quantity', 'deviceNonce'],
    schema: AuthorizeCommand,
    toFlat: (c) => ({ deviceId: c.deviceId, merchant: c.purchase.merchant, amountMinor: c.purchase.amount.minor, currency: c.purchase.amount.currency, article: c.purchase.article, quantity: c.purchase.quantity, deviceNonce: c.deviceNonce }),
    fromFlat: (f) => ({ deviceId: f.deviceId, purchase: { merchant: f.merchant, amount: { minor: f.amountMinor, currency: f.currency }, article: f.article, quantity: f.quantity }, deviceNonce: f.deviceNonce }),
  }, singleBytesMax),
  /** AUTHORIZE PURCHASE, PHONE SETTLES command (claim 9); answered with an authorize response. */
  phoneSettleCommand: recordCodec('phone settle command', {
    fields: ['deviceId', 'merchant', 'amountMinor', 'currency', 'article', 'quantity', 'deviceNonce', 'requestId', 'outcomeDeadlineSec'],
    schema: PhoneSettleCommand,
    toFlat: (c) => ({ deviceId: c.deviceId, merchant: c.purchase.merchant, amountMinor: c.purchase.amount.minor, currency: c.purchase.amount.currency, article: c.purchase.article, quantity: c.purchase.quantity, deviceNonce: c.deviceNonce, requestId: c.requestId, outcomeDeadlineSec: c.outcomeDeadlineSec }),
    fromFlat: (f) => ({ deviceId: f.deviceId, purchase: { merchant: f.merchant, amount: { minor: f.amountMinor, currency: f.currency }, article: f.article, quantity: f.quantity }, deviceNonce: f.deviceNonce, requestId: f.requestId, outcomeDeadlineSec: f.outcomeDeadlineSec }),
  }, singleBytesMax),
  /** AUTHORIZE PURCHASE response. */
  authorizeResponse: recordCodec('authorize response', { fields: ['walletId', 'counter', 'cryptogram'], schema: AuthorizeResponse }, singleBytesMax),
  /** PUT ADMISSION command and GET ADMISSION response: zero (none / clear) or one admission. */
  admissions: listCodec('admission', {
    fields: ['admissionId', 'walletId', 'station', 'gate', 'enteredAt', 'keyId', 'sig'], schema: Admission,
  }, appletDataLimits.admissionsHeldMax),
  /** PUT TICKET command and GET TICKET response. */
  tickets: listCodec('ticket', {
    fields: ['ticketId', 'walletId', 'product', 'validFrom', 'validUntil', 'uses', 'keyId', 'sig'], schema: Ticket,
  }, appletDataLimits.ticketsHeldMax),
  /** PUT EMONEY command and GET EMONEY response. */
  emoneyTokens: listCodec('emoneyToken', {
    fields: ['serial', 'amountMinor', 'currency', 'holder', 'issuedAt', 'float', 'keyId', 'sig'],
    schema: EmoneyToken,
    toFlat: (t) => ({ serial: t.serial, amountMinor: t.amount.minor, currency: t.amount.currency, holder: t.holder, issuedAt: t.issuedAt, float: t.float, keyId: t.keyId, sig: t.sig }),
    fromFlat: (f) => ({ serial: f.serial, amount: { minor: f.amountMinor, currency: f.currency }, holder: f.holder, issuedAt: f.issuedAt, float: f.float, keyId: f.keyId, sig: f.sig }),
  }, appletDataLimits.emoneyTokensHeldMax),
  /** GET CARD response: one card (claim 36). */
  card: recordCodec('card', { fields: ['pan', 'expiry', 'cvv'], schema: CardData }, singleBytesMax),
} as const;
