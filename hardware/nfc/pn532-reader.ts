/**
 * NfcReader on a PN532 (DESIGN §8): wakes the chip, puts it in normal mode,
 * polls for one 106 kbps type A target and relays APDUs to it with
 * InDataExchange. Target problems reject with NfcError (what a device host
 * acts on: "tap again"); chip or link faults reject with Pn532Error.
 */
import type { Duplex } from 'node:stream';
import { NfcError, sakIsoDepBit } from '../nfc-reader.ts';
import type { NfcReader, NfcTargetInfo } from '../nfc-reader.ts';
import { isPn532Error, Pn532Error } from './errors.ts';
import { wakeupSequence } from './frame.ts';
import { inDataExchangeDataBytesMax, Pn532Commands, pn532Status } from './pn532-commands.ts';
import type { FirmwareVersion, PassiveTargetA } from './pn532-commands.ts';
import { Pn532Link } from './pn532-link.ts';
import type { Pn532LinkOptions } from './pn532-link.ts';

export interface Pn532ReaderOptions extends Pn532LinkOptions {
  pollIntervalMs?: number;
  passiveActivationRetries?: number;
}

export const pn532ReaderDefaults = {
  /** Pause between polls that found nothing: keeps the UART and the chip idle-ish, costs at most this much latency per tap. */
  pollIntervalMs: 20,
  /**
   * Activation attempts per InListPassiveTarget before the chip answers "none"
   * (each a few ms on a real chip). Not 0xFF (forever): a poll must come back
   * so that waitForTarget can keep its own timeout without aborting the chip.
   */
  passiveActivationRetries: 0x10,
} as const;

/** IC byte of GetFirmwareVersion for a PN532 (a PN533 says 0x33). */
const pn532Ic = 0x32;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function checkTimeout(timeoutMs: number, name = 'timeoutMs'): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${timeoutMs}`);
}

export class Pn532Reader implements NfcReader {
  readonly link: Pn532Link;
  readonly commands: Pn532Commands;
  private readonly pollIntervalMs: number;
  private readonly passiveActivationRetries: number;
  private target: PassiveTargetA | null = null;
  private opened = false;
  private closed = false;

  /** `closeStream` releases the port on close(); the caller keeps ownership when it is omitted. */
  constructor(stream: Duplex, options: Pn532ReaderOptions = {}, private readonly closeStream: () => Promise<void> = () => Promise.resolve()) {
    const { pollIntervalMs, passiveActivationRetries, ...linkOptions } = { ...pn532ReaderDefaults, ...options };
    if (!Number.isInteger(passiveActivationRetries) || passiveActivationRetries < 0 || passiveActivationRetries > 0xfe) {
      throw new RangeError(`passiveActivationRetries must be an integer 0..254 (0xFF would block forever), got ${passiveActivationRetries}`);
    }
    checkTimeout(pollIntervalMs, 'pollIntervalMs');
    this.pollIntervalMs = pollIntervalMs;
    this.passiveActivationRetries = passiveActivationRetries;
    this.link = new Pn532Link(stream, linkOptions);
    this.commands = new Pn532Commands(this.link);
  }

  /** Wakes the chip (HSU), SAMConfiguration normal mode, checks it is a PN532, bounds its polling. */
  async open(): Promise<FirmwareVersion> {
    if (this.opened) throw new Error('Pn532Reader.open() called twice');
    this.opened = true;
    this.link.start();
    await this.link.writeRaw(wakeupSequence());
    // First after the wakeup, as libnfc does (pn532_uart.c, after NXP's application note): it takes the chip out of LowVbat mode.
    await this.commands.samConfiguration();
    const firmware = await this.commands.getFirmwareVersion();
    if (firmware.ic !== pn532Ic) throw new Pn532Error('TS_ERR_PN532_BAD_RESPONSE', `IC 0x${firmware.ic.toString(16)} is not a PN532`);
    await this.commands.setPassiveActivationRetries(this.passiveActivationRetries);
    return firmware;
  }

  async waitForTarget(options: { timeoutMs: number }): Promise<NfcTargetInfo | null> {
    this.assertOpen();
    checkTimeout(options.timeoutMs);
    if (this.target !== null) await this.release(); // every tap starts from a fresh activation
    const deadline = performance.now() + options.timeoutMs;
    while (true) {
      const remainingMs = Math.ceil(deadline - performance.now());
      if (remainingMs <= 0) return null;
      let found: PassiveTargetA | null;
      try {
        found = await this.commands.inListPassiveTarget({ responseTimeoutMs: remainingMs });
      } catch (error) {
        if (isPn532Error(error, 'TS_ERR_PN532_TIMEOUT')) return null; // our deadline, the chip's poll aborted
        throw error;
      }
      if (found !== null) {
        this.target = found;
        return targetInfo(found);
      }
      await sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - performance.now())));
    }
  }

  async exchange(apdu: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array> {
    this.assertOpen();
    checkTimeout(options.timeoutMs);
    const target = this.target;
    if (target === null) throw new NfcError('TS_ERR_NFC_NO_TARGET');
    if ((target.sak & sakIsoDepBit) === 0) throw new NfcError('TS_ERR_NFC_NOT_ISO_DEP', `SAK 0x${target.sak.toString(16)}`);
    if (apdu.length > inDataExchangeDataBytesMax) {
      throw new NfcError('TS_ERR_NFC_APDU_TOO_LONG', `${apdu.length} bytes, at most ${inDataExchangeDataBytesMax}`);
    }
    let answer: { status: number; data: Uint8Array };
    try {
      answer = await this.commands.inDataExchange(target.tg, apdu, { responseTimeoutMs: Math.ceil(options.timeoutMs) });
    } catch (error) {
      if (!isPn532Error(error, 'TS_ERR_PN532_TIMEOUT')) throw error;
      // The chip was aborted mid-exchange: the ISO-DEP block numbering is unknown, so the target must be activated again.
      this.target = null;
      throw new NfcError('TS_ERR_NFC_TIMEOUT', `${options.timeoutMs} ms`, { cause: error });
    }
    return this.checkAnswer(answer);
  }

  async release(): Promise<void> {
    this.assertOpen();
    const target = this.target;
    this.target = null;
    if (target === null) return;
    try {
      await this.commands.inRelease(target.tg);
    } catch (error) {
      if (!isPn532Error(error, 'TS_ERR_PN532_STATUS')) throw error; // the chip already dropped it: released either way
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.target !== null) await this.release();
    } catch {
      // Best effort: a reader being closed with a dead link still closes.
    } finally {
      this.closed = true;
      this.link.stop();
      await this.closeStream();
    }
  }

  private checkAnswer(answer: { status: number; data: Uint8Array }): Uint8Array {
    const error = answer.status & 0x3f;
    if (error === pn532Status.timeout) {
      this.target = null;
      throw new NfcError('TS_ERR_NFC_TARGET_LOST', 'the chip reports the target did not answer (status 0x01)');
    }
    if (error !== pn532Status.success) throw new NfcError('TS_ERR_NFC_TRANSMISSION', `PN532 status 0x${answer.status.toString(16)}`);
    if ((answer.status & pn532Status.moreInformationBit) !== 0) {
      throw new NfcError('TS_ERR_NFC_TRANSMISSION', 'a chained (MI) answer, which this reader does not reassemble');
    }
    if (answer.data.length < 2) throw new NfcError('TS_ERR_NFC_BAD_RESPONSE', `${answer.data.length} bytes, no status word`);
    return answer.data.slice();
  }

  private assertOpen(): void {
    if (this.closed) throw new NfcError('TS_ERR_NFC_CLOSED');
  }
}

function targetInfo(target: PassiveTargetA): NfcTargetInfo {
  const info = { uid: target.uid, atqa: target.atqa, sak: target.sak, isoDep: (target.sak & sakIsoDepBit) !== 0 };
  return target.ats === undefined ? info : { ...info, ats: target.ats };
}
