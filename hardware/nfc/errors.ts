/**
 * Coded errors of the PN532 driver. The codes are stable: operators and the
 * docs' error table key on them, so rename none of them.
 */
export const pn532ErrorCodes = {
  /** The chip did not acknowledge a command frame after every retry: wiring, baud rate, power, or the chip is asleep. */
  TS_ERR_PN532_NO_ACK: 'the PN532 did not acknowledge the command',
  /** The chip acknowledged but did not answer in time; the command was aborted. */
  TS_ERR_PN532_TIMEOUT: 'the PN532 did not answer in time',
  /** The chip answered with its application-level error frame (unknown command or bad parameters). */
  TS_ERR_PN532_SYNTAX: 'the PN532 rejected the command (error frame)',
  /** A response that does not parse as the command's documented answer. */
  TS_ERR_PN532_BAD_RESPONSE: 'the PN532 answer is malformed',
  /** A status byte other than success in an InDataExchange / InRelease answer. */
  TS_ERR_PN532_STATUS: 'the PN532 reported an error status',
  /** More commands waiting than the queue allows. */
  TS_ERR_PN532_BUSY: 'too many PN532 commands waiting',
  /** The payload does not fit in one extended frame. */
  TS_ERR_PN532_FRAME_TOO_LONG: 'the payload does not fit in a PN532 frame',
  /** The serial link failed or was closed while a command was in flight. */
  TS_ERR_PN532_IO: 'the serial link to the PN532 failed',
  TS_ERR_PN532_CLOSED: 'the PN532 link is closed',
  /** The serialport package (native binding) could not be loaded or the port could not be opened. */
  TS_ERR_SERIAL_UNAVAILABLE: 'the serial port is not available',
  /** The config names an NFC driver that does not exist. */
  TS_ERR_NFC_DRIVER_UNKNOWN: 'unknown NFC reader driver',
} as const;

export type Pn532ErrorCode = keyof typeof pn532ErrorCodes;

export class Pn532Error extends Error {
  override readonly name = 'Pn532Error';
  readonly code: Pn532ErrorCode;
  /** The PN532 status byte, for TS_ERR_PN532_STATUS. */
  readonly status: number | undefined;

  constructor(code: Pn532ErrorCode, detail?: string, options?: { status?: number; cause?: unknown }) {
    super(detail === undefined ? pn532ErrorCodes[code] : `${pn532ErrorCodes[code]}: ${detail}`, { cause: options?.cause });
    this.code = code;
    this.status = options?.status;
  }
}

export const isPn532Error = (error: unknown, code?: Pn532ErrorCode): error is Pn532Error =>
  error instanceof Pn532Error && (code === undefined || error.code === code);
