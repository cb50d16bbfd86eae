/**
 * A simulated phone with the tapsettle wallet installed, as an NFC reader
 * sees it: an ISO 14443-A target speaking ISO-DEP whose APDUs Android routes
 * to the wallet's host-card-emulation service (wallet-applet.ts).
 *
 * The routing follows AOSP's HostEmulationManager:
 * - every activation starts unrouted and gets a fresh random UID (a phone is
 *   never identified by its UID, DESIGN §5);
 * - SELECT of an AID nobody registered → 6A82, and the routing is unchanged;
 * - any other APDU before a SELECT routed the session → 6F00. Android's
 *   HostEmulationManager answers exactly that (UNKNOWN_ERROR, "Dropping
 *   non-select APDU in STATE_W4_SELECT"), so we do too, rather than 6A82 or
 *   6985: a host must SELECT first, and it sees the same word as on a phone.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { cla, encodeResponseApdu, ins, sw, walletAid } from '../../protocol/applet.ts';
import { limits, masterKeyBytes, WalletId } from '../../protocol/index.ts';
import type { Iso14443aTarget } from '../nfc-target.ts';
import { FileCounterStore, MemoryCounterStore } from './counter-store.ts';
import type { CardHoldings } from './card-holdings.ts';
import type { CounterStore } from './counter-store.ts';
import { PhoneError } from './errors.ts';
import { PhoneResults } from './phone-results.ts';
import type { WalletApiClient } from './wallet-api-client.ts';
import { WalletApplet } from './wallet-applet.ts';
import type { ConsentHook } from './wallet-applet.ts';
import type { WalletHoldings } from './wallet-holdings.ts';

export interface SimulatedPhoneOptions {
  /** Assigned by the core at enrollment. */
  walletId: string;
  /** deriveWalletKey(issuer master key, walletId), provisioned at enrollment. */
  walletKey: Uint8Array;
  /** Where the counter survives restarts. Omitted: memory only (tests, throw-away runs). */
  counterFile?: string;
  /** The counter to start from when there is no counter file yet. */
  initialCounter?: number;
  /** Asked before each purchase and each GET CARD (`request.kind` says which); false = the user declines (6985). None: the user always agrees. */
  consent?: ConsentHook;
  /** How long the consent prompt waits for the user before counting it as a refusal. */
  consentTimeoutMs?: number;
  /** Source of the per-activation UID; inject a seeded one to replay a run. */
  randomBytes?: (size: number) => Uint8Array;
  /** The wallet API (claims 9 and 12). Absent: the phone has no network; it refuses to settle itself (6985). */
  walletApi?: WalletApiClient;
}

/** SENS_RES as a PN532 reports it (MSB first): single-size UID, bit-frame anticollision. */
const phoneAtqa = Uint8Array.of(0x00, 0x04);
/** SEL_RES: bit 0x20 = ISO 14443-4 compliant, as every HCE phone answers. */
const phoneSak = 0x20;
/** ATS as NXP-controller phones send it: FSCI 8 (256-byte frames), TA/TB/TC present, FWI 7, CID supported. */
const phoneAts = Uint8Array.of(0x78, 0x80, 0x70, 0x02);
/** ISO 14443-3: a 4-byte UID whose first byte is 08h is a random ID, new at each activation. */
const randomUidBytes = 4;
const randomUidPrefix = 0x08;
/** A user who has not decided within 10 s has walked away from the gate; a minute is the most any scenario may ask for. */
export const phoneDefaults = { consentTimeoutMs: 10_000 } as const;
export const consentTimeoutMsMax = 60_000;
/**
 * ISO-DEP is half duplex: a reader has one APDU in flight. A few more may
 * queue when a reader retries after its own timeout; past that a caller is
 * running away and is refused rather than queued without end.
 */
export const queuedExchangesMax = 4;

function checkOptions(o: SimulatedPhoneOptions): void {
  const bad = (option: string, why: string): never => {
    throw new PhoneError('TS_ERR_PHONE_OPTION', `${option}: ${why}`);
  };
  if (!WalletId.safeParse(o.walletId).success) bad('walletId', 'expected the UUIDv7 the core assigned at enrollment');
  if (!(o.walletKey instanceof Uint8Array) || o.walletKey.byteLength < masterKeyBytes) bad('walletKey', `expected at least ${masterKeyBytes} bytes`);
  if (o.counterFile !== undefined && (typeof o.counterFile !== 'string' || o.counterFile.length === 0)) bad('counterFile', 'expected a file path');
  const c = o.initialCounter;
  if (c !== undefined && !(Number.isInteger(c) && c >= 0 && c <= limits.walletCounterMax)) bad('initialCounter', `expected an integer 0..${limits.walletCounterMax}`);
  if (o.consent !== undefined && typeof o.consent !== 'function') bad('consent', 'expected a function');
  const t = o.consentTimeoutMs;
  if (t !== undefined && !(Number.isInteger(t) && t >= 1 && t <= consentTimeoutMsMax)) bad('consentTimeoutMs', `expected an integer 1..${consentTimeoutMsMax}`);
  if (o.randomBytes !== undefined && typeof o.randomBytes !== 'function') bad('randomBytes', 'expected a function');
}

const isSelectByAid = (apdu: Uint8Array): boolean => apdu[0] === cla.iso && apdu[1] === ins.select && apdu[2] === 0x04;

function selectedAid(apdu: Uint8Array): Uint8Array | null {
  const lc = apdu[4];
  if (lc === undefined || lc === 0 || apdu.byteLength < 5 + lc) return null;
  return apdu.subarray(5, 5 + lc);
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);

export class SimulatedPhone implements Iso14443aTarget {
  readonly atqa = phoneAtqa;
  readonly sak = phoneSak;
  readonly ats = phoneAts;
  private readonly applet: WalletApplet;
  /** Claims 9 and 12: the settles this phone sent itself and the results that reached it. */
  readonly results: PhoneResults;
  private readonly randomBytes: (size: number) => Uint8Array;
  private inField = true;
  private activated = false;
  private routed = false;
  /** APDUs are handled one at a time, in order, as the NFC controller delivers them. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;

  /** Use SimulatedPhone.open: it validates the options and reads the counter first. */
  private constructor(applet: WalletApplet, randomBytes: (size: number) => Uint8Array, results: PhoneResults) {
    this.applet = applet;
    this.results = results;
    this.randomBytes = randomBytes;
  }

  static async open(options: SimulatedPhoneOptions): Promise<SimulatedPhone> {
    checkOptions(options);
    const store: CounterStore = options.counterFile === undefined
      ? new MemoryCounterStore(options.initialCounter)
      : new FileCounterStore(options.counterFile, options.walletId, options.initialCounter);
    const counter = await store.load();
    const results = new PhoneResults(options.walletApi ?? null);
    const applet = new WalletApplet({
      walletId: options.walletId, walletKey: Uint8Array.from(options.walletKey), store, counter,
      consent: options.consent, consentTimeoutMs: options.consentTimeoutMs ?? phoneDefaults.consentTimeoutMs,
      phoneSettle: results.canSettle ? (request) => results.send(request) : undefined,
    });
    return new SimulatedPhone(applet, options.randomBytes ?? ((size) => cryptoRandomBytes(size)), results);
  }

  /** Tickets, admission info and e-money on the phone, for scenarios to set up and inspect. */
  get holdings(): WalletHoldings {
    return this.applet.holdings;
  }

  /** Payment cards on the phone (claim 36), read by a device with GET CARD. */
  get cards(): CardHoldings {
    return this.applet.cards;
  }

  /** The last counter value a cryptogram used. */
  get counter(): number {
    return this.applet.lastCounter;
  }

  get present(): boolean {
    return this.inField;
  }

  /** The user takes the phone away: the session ends and every exchange rejects until it is placed back. */
  remove(): void {
    this.inField = false;
    this.deactivate();
  }

  /** The user holds the phone to a reader again; the reader must activate it anew. */
  placeInField(): void {
    this.inField = true;
  }

  activate(): Uint8Array {
    if (!this.inField) throw new PhoneError('TS_ERR_PHONE_NOT_IN_FIELD', 'the phone is not in the field');
    this.activated = true;
    this.routed = false;
    this.applet.reset();
    const uid = Uint8Array.from(this.randomBytes(randomUidBytes).subarray(0, randomUidBytes));
    if (uid.byteLength !== randomUidBytes) throw new PhoneError('TS_ERR_PHONE_OPTION', `randomBytes: returned ${uid.byteLength} bytes, expected ${randomUidBytes}`);
    uid[0] = randomUidPrefix;
    return uid;
  }

  deactivate(): void {
    this.activated = false;
    this.routed = false;
    this.applet.reset();
  }

  transceive(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.queued >= queuedExchangesMax) return Promise.reject(new PhoneError('TS_ERR_PHONE_BUSY', `${this.queued} exchanges already waiting`));
    this.queued += 1;
    const result = this.queue.then(() => this.exchange(Uint8Array.from(apdu))).finally(() => {
      this.queued -= 1;
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async exchange(apdu: Uint8Array): Promise<Uint8Array> {
    this.checkLink();
    const response = await this.route(apdu);
    // The answer of a phone pulled away mid-command never reaches the reader.
    this.checkLink();
    return response;
  }

  private checkLink(): void {
    if (!this.inField) throw new PhoneError('TS_ERR_PHONE_NOT_IN_FIELD', 'the phone has left the field');
    if (!this.activated) throw new PhoneError('TS_ERR_PHONE_NOT_ACTIVATED', 'the phone has not been activated since it entered the field or was released');
  }

  private async route(apdu: Uint8Array): Promise<Uint8Array> {
    if (isSelectByAid(apdu)) {
      const aid = selectedAid(apdu);
      if (aid && sameBytes(aid, walletAid)) {
        this.routed = true;
        this.applet.reset();
        return this.applet.process(apdu);
      }
      if (aid) return encodeResponseApdu(new Uint8Array(0), sw.appletNotFound);
    }
    if (!this.routed) return encodeResponseApdu(new Uint8Array(0), sw.unknown);
    return this.applet.process(apdu);
  }
}
