/**
 * Errors of the device runtime (outbox, link): classes with stable codes,
 * listed with what to do about each in docs/device-runtime.md.
 */
export const runtimeErrorCodes = [
  /** An option is missing or out of range; the message names it. */
  'TS_ERR_RUNTIME_BAD_OPTION',
  /** The outbox holds entriesMax entries or bytesMax bytes: stop selling until answers drain it. */
  'TS_ERR_OUTBOX_FULL',
  /** An entry with this requestId is already pending: a requestId is never reused for another message. */
  'TS_ERR_OUTBOX_DUPLICATE',
  /** One message body is larger than the protocol allows. */
  'TS_ERR_OUTBOX_TOO_LARGE',
  /** The outbox or link was used after close(). */
  'TS_ERR_RUNTIME_CLOSED',
  /** A message built by the host does not match its protocol schema: a bug in the host, not the network. */
  'TS_ERR_LINK_INVALID_MESSAGE',
  /** No verified answer arrived within the wait; the entry stays in the outbox and is still resent. */
  'TS_ERR_LINK_TIMEOUT',
  /** The host's state machine was asked for a move its table does not allow: a bug; the host fails closed. */
  'TS_ERR_MACHINE_TRANSITION',
  /** The device file (YAML) is missing, unreadable or invalid; the message names the key. */
  'TS_ERR_DEVICE_FILE',
  /** A hardware part named in the device file could not be opened. */
  'TS_ERR_DEVICE_PARTS',
] as const;
export type RuntimeErrorCode = (typeof runtimeErrorCodes)[number];

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
    this.code = code;
  }
}

/** Constructor validation helper: an integer option inside [min, max], or a RuntimeError naming it. */
export function checkIntegerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RuntimeError('TS_ERR_RUNTIME_BAD_OPTION', `${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}
