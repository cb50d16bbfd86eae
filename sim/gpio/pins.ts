/** Pin model of the simulated board: modes, the IO plugin pin record, what a dashboard sees, and the limits. */

export const MODES = Object.freeze({ INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4 });
export const modeNames = ['input', 'output', 'analog', 'pwm', 'servo'] as const;
export type PinModeName = (typeof modeNames)[number];
/** A pin as the IO plugin contract describes it (j5 reads these). */
export interface IoPin {
  supportedModes: number[];
  mode: number;
  value: number;
  report: 0 | 1;
  analogChannel: number;
}

export interface PinSnapshot {
  pin: number;
  mode: PinModeName;
  /** Output: the level (or PWM duty 0..255) written. Input: the level read. */
  value: number;
  pullup: boolean;
  /** Level forced from outside (a sensor, a technician), or null when floating. */
  driven: number | null;
  reporting: boolean;
}

export interface SimBoardOptions {
  name?: string;
  /** Digital pins 0..n-1; default 28 like a Pi's BCM GPIO 0..27. */
  digitalPinCount?: number;
  /** Analog-capable pins appended after the digital ones (A0 = digitalPinCount). */
  analogPinCount?: number;
  pwmPins?: readonly number[];
  defaultLed?: number;
}

/** Pin counts above this are a typo, not a board. */
export const pinCountMax = 128;
/** A scripted input pulse longer than this is a stuck scenario, not a sensor. */
export const inputPulseMsMax = 10_000;
/** Typical pulses: an article falling through a light curtain, a person crossing a beam. */
export const dropPulseMsDefault = 40;
export const passagePulseMsDefault = 400;
export const analogChannelNone = 127;
export const adcMax = 1023;
