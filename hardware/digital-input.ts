/**
 * A debounced binary input: a drop sensor (a light curtain under the spirals
 * that sees an article fall), a passage sensor (a beam across a gate lane) or
 * a door/tamper switch.
 *
 * `value` is `true` when the input is *active* — article seen, someone in the
 * beam, door open — whatever the electrical level: the driver is told which
 * level means active (pull-up wiring makes "contact closed" read low).
 *
 * A level change is accepted only after it has held for `debounceMs`; a
 * shorter glitch never shows. So a drop pulse must last longer than
 * debounceMs to count: size the debounce below the shortest real pulse.
 */
export type DigitalInputKind = 'drop-sensor' | 'passage-sensor' | 'door-switch' | 'tamper-switch';

export interface DigitalInput {
  readonly name: string;
  readonly kind: DigitalInputKind;
  /** How long a new level must hold before it is accepted. */
  readonly debounceMs: number;
  /** The accepted (debounced) state: true = active. */
  readonly value: boolean;
  /** Fires once per accepted transition, with the new value. */
  on(event: 'change', listener: (active: boolean) => void): this;
  off(event: 'change', listener: (active: boolean) => void): this;
  /** Stops every timer and drops listeners; `value` freezes. Idempotent. */
  dispose(): void;
}

/** Bounds for debounceMs: 0 would pass contact bounce through; past 1 s a passage would be missed. */
export const inputDebounceMsMin = 1;
export const inputDebounceMsMax = 1_000;
/** Default: mechanical contacts bounce for under 10 ms; a falling article blocks a light curtain for 20 ms or more. */
export const inputDebounceMsDefault = 15;
