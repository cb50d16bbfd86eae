/**
 * Typed PN532 commands over a Pn532Link: parameters in, parsed answers out
 * (NXP PN532 User Manual §7). Parsers are exported for unit tests and for the
 * virtual chip's own checks.
 */
import { Pn532Error } from './errors.ts';
import type { Pn532Link } from './pn532-link.ts';

export const pn532CommandCode = {
  diagnose: 0x00,
  getFirmwareVersion: 0x02,
  getGeneralStatus: 0x04,
  readRegister: 0x06,
  writeRegister: 0x08,
  setParameters: 0x12,
  samConfiguration: 0x14,
  powerDown: 0x16,
  rfConfiguration: 0x32,
  inDataExchange: 0x40,
  inCommunicateThru: 0x42,
  inDeselect: 0x44,
  inListPassiveTarget: 0x4a,
  inRelease: 0x52,
  inSelect: 0x54,
} as const;

/** Status byte values of In* answers (UM §7.1, error codes); the low 6 bits carry the error. */
export const pn532Status = {
  success: 0x00,
  /** The target has not answered: it left the field or is too slow. */
  timeout: 0x01,
  crcError: 0x02,
  parityError: 0x03,
  rfProtocolError: 0x0b,
  invalidParameter: 0x10,
  /** Not acceptable in the current context, e.g. no such activated target. */
  wrongContext: 0x27,
  /** Bit 6 of an InDataExchange status: more information follows (chaining). */
  moreInformationBit: 0x40,
} as const;

/** SAMConfiguration mode 0x01: normal mode, no SAM (UM §7.2.10). */
export const samModeNormal = 0x01;
/** InListPassiveTarget BrTy 0x00: 106 kbps type A (ISO/IEC 14443 Type A). */
export const brTy106TypeA = 0x00;
/** RFConfiguration CfgItem 0x05: MxRtyATR, MxRtyPSL, MxRtyPassiveActivation. */
export const cfgItemMaxRetries = 0x05;
/** MxRtyPassiveActivation 0xFF: retry forever (the chip's default). */
export const passiveActivationForever = 0xff;
/** Longest DataOut of one InDataExchange (UM §7.3.8); longer needs MI chaining, which we do not do. */
export const inDataExchangeDataBytesMax = 262;

export interface FirmwareVersion {
  /** 0x32 for a PN532. */
  readonly ic: number;
  readonly ver: number;
  readonly rev: number;
  /** Bit field: 0x01 ISO/IEC 14443 Type A, 0x02 Type B, 0x04 ISO 18092. */
  readonly support: number;
}

export interface PassiveTargetA {
  /** Logical target number the chip gave it (1 or 2), used by InDataExchange/InRelease. */
  readonly tg: number;
  /** SENS_RES, as the chip reports it. */
  readonly atqa: Uint8Array;
  /** SEL_RES. */
  readonly sak: number;
  /** NFCID1. */
  readonly uid: Uint8Array;
  /** ATS without its length byte TL, present when SAK says ISO-DEP. */
  readonly ats?: Uint8Array;
}

const badResponse = (what: string, data: Uint8Array): Pn532Error =>
  new Pn532Error('TS_ERR_PN532_BAD_RESPONSE', `${what} (${data.length} bytes)`);

export function parseFirmwareVersion(data: Uint8Array): FirmwareVersion {
  const [ic, ver, rev, support] = data;
  if (data.length !== 4 || ic === undefined || ver === undefined || rev === undefined || support === undefined) {
    throw badResponse('GetFirmwareVersion answer is not IC Ver Rev Support', data);
  }
  return { ic, ver, rev, support };
}

/** Parses `NbTg [Tg SENS_RES(2) SEL_RES NFCIDLength NFCID ATS?]` for one 106 kbps type A target; null when NbTg = 0. */
export function parseInListPassiveTargetA(data: Uint8Array): PassiveTargetA | null {
  const nbTg = data[0];
  if (nbTg === undefined || nbTg > 2) throw badResponse('InListPassiveTarget NbTg missing or > 2', data);
  if (nbTg === 0) return null;
  const [, tg, atqa0, atqa1, sak, uidLength] = data;
  if (tg === undefined || atqa0 === undefined || atqa1 === undefined || sak === undefined || uidLength === undefined) {
    throw badResponse('InListPassiveTarget target data too short', data);
  }
  const uidEnd = 6 + uidLength;
  if (data.length < uidEnd) throw badResponse('InListPassiveTarget NFCID shorter than its length byte', data);
  const target = { tg, atqa: Uint8Array.of(atqa0, atqa1), sak, uid: data.slice(6, uidEnd) };
  if ((sak & 0x20) === 0) return target;
  const tl = data[uidEnd];
  if (tl === undefined || tl < 1 || data.length < uidEnd + tl) throw badResponse('InListPassiveTarget ATS missing or shorter than TL', data);
  return { ...target, ats: data.slice(uidEnd + 1, uidEnd + tl) };
}

export class Pn532Commands {
  constructor(readonly link: Pn532Link) {}

  async getFirmwareVersion(): Promise<FirmwareVersion> {
    return parseFirmwareVersion(await this.link.command(pn532CommandCode.getFirmwareVersion));
  }

  /** Normal mode: the chip talks to targets itself, no secure access module. */
  async samConfiguration(): Promise<void> {
    await this.link.command(pn532CommandCode.samConfiguration, Uint8Array.of(samModeNormal));
  }

  /** How often the chip retries activation before answering NbTg = 0 (0xFF: never gives up). */
  async setPassiveActivationRetries(retries: number): Promise<void> {
    // MxRtyATR 0xFF and MxRtyPSL 0x01 are the chip's defaults (UM §7.3.1); only the third matters here.
    await this.link.command(pn532CommandCode.rfConfiguration, Uint8Array.of(cfgItemMaxRetries, 0xff, 0x01, retries & 0xff));
  }

  /** One 106 kbps type A target, or null when the chip's activation retries ran out with an empty field. */
  async inListPassiveTarget(options: { responseTimeoutMs?: number } = {}): Promise<PassiveTargetA | null> {
    const answer = await this.link.command(pn532CommandCode.inListPassiveTarget, Uint8Array.of(1, brTy106TypeA), options);
    return parseInListPassiveTargetA(answer);
  }

  /** Relays data to an activated target; the status byte is returned, not thrown: its meaning is the caller's. */
  async inDataExchange(tg: number, data: Uint8Array, options: { responseTimeoutMs: number }): Promise<{ status: number; data: Uint8Array }> {
    if (data.length > inDataExchangeDataBytesMax) {
      throw new Pn532Error('TS_ERR_PN532_FRAME_TOO_LONG', `InDataExchange takes at most ${inDataExchangeDataBytesMax} bytes, got ${data.length}`);
    }
    const params = new Uint8Array(1 + data.length);
    params[0] = tg;
    params.set(data, 1);
    const answer = await this.link.command(pn532CommandCode.inDataExchange, params, options);
    const status = answer[0];
    if (status === undefined) throw badResponse('InDataExchange answer without status', answer);
    return { status, data: answer.subarray(1) };
  }

  /** Releases target tg (0 = all). */
  async inRelease(tg: number): Promise<void> {
    const answer = await this.link.command(pn532CommandCode.inRelease, Uint8Array.of(tg));
    const status = answer[0];
    if (status === undefined) throw badResponse('InRelease answer without status', answer);
    if ((status & 0x3f) !== pn532Status.success) {
      throw new Pn532Error('TS_ERR_PN532_STATUS', `InRelease status 0x${status.toString(16)}`, { status });
    }
  }
}
