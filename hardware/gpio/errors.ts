/**
 * Errors of the GPIO layer (relays, inputs, LEDs, IO boards): classes with
 * stable codes, listed with what to do about each in docs/hardware.md.
 */
export const gpioErrorCodes = [
  /** An option is missing or out of range; the message names it. */
  'TS_ERR_GPIO_BAD_OPTION',
  /** A pin that the board does not have, or a mode the pin does not support. */
  'TS_ERR_GPIO_PIN',
  /** The IO backend cannot do this at all (e.g. I2C on the simulated board). */
  'TS_ERR_GPIO_NOT_SUPPORTED',
  /** pulse(ms) with ms not an integer in 1..pulseMsMax. */
  'TS_ERR_GPIO_PULSE_RANGE',
  /** pulse() while another pulse of the same relay runs. */
  'TS_ERR_GPIO_RELAY_BUSY',
  /** A part used after dispose(), or a board after close(). */
  'TS_ERR_GPIO_DISPOSED',
  /** An optional backend package is not installed; the message says what to install. */
  'TS_ERR_GPIO_BACKEND_MISSING',
  /** The serial port of a Firmata board could not be opened. */
  'TS_ERR_GPIO_PORT_OPEN',
  /** The board did not finish its handshake in time. */
  'TS_ERR_GPIO_BOARD_TIMEOUT',
  /** The board or its IO plugin reported an error. */
  'TS_ERR_GPIO_BOARD',
] as const;
export type GpioErrorCode = (typeof gpioErrorCodes)[number];

export class GpioError extends Error {
  readonly code: GpioErrorCode;
  constructor(code: GpioErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GpioError';
    this.code = code;
  }
}

/** Constructor validation helper: an integer option inside [min, max], or a GpioError naming it. */
export function checkIntegerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GpioError('TS_ERR_GPIO_BAD_OPTION', `${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}
