/**
 * A relay that drives a lock, a gate, a spiral motor or a dispenser coil.
 *
 * States are named from the point of view of what the relay drives, as the
 * device hosts speak of it (DESIGN §7: "the relay closes again after a
 * pulse"): `closed` is the rest state — coil de-energised, the gate locked,
 * the spiral still — and the state every implementation fails to; `open` is
 * the actuated state. Whatever the wiring (active-high or active-low module,
 * NO or NC contact), the driver maps `open` to "let it happen".
 *
 * No implementation ever stays `open` longer than `pulseMsMax`: a relay left
 * energised by a crashed state machine would hold a gate open or burn a motor.
 */
export type RelayState = 'open' | 'closed';

export interface Relay {
  /** For logs and the dashboard: "slot-a3", "gate-entry". */
  readonly name: string;
  readonly state: RelayState;
  /** The longest a single pulse or open() may last; a longer request is refused. */
  readonly pulseMsMax: number;
  /** Opens now; closes again by itself after pulseMsMax unless close() comes first. */
  open(): void;
  /** Back to rest. Ends a running pulse early (its promise resolves). */
  close(): void;
  /**
   * Opens for `ms`, then closes. Resolves when closed again (after `ms`, or
   * earlier on close()/dispose()). Rejects with TS_ERR_GPIO_PULSE_RANGE when
   * `ms` is not an integer in 1..pulseMsMax, TS_ERR_GPIO_RELAY_BUSY while
   * another pulse runs, TS_ERR_GPIO_DISPOSED after dispose().
   */
  pulse(ms: number): Promise<void>;
  /** Fires on every state transition, with the new state. */
  on(event: 'change', listener: (state: RelayState) => void): this;
  off(event: 'change', listener: (state: RelayState) => void): this;
  /** Closes, stops every timer, drops listeners. Idempotent. */
  dispose(): void;
}

/** Hard ceiling for any relay's pulseMsMax: a turnstile cycle or a spiral turn takes seconds; a minute means a stuck state machine. */
export const relayPulseMsCeiling = 60_000;
/** Default pulseMsMax: long enough for a gate to swing and a spiral to turn once. */
export const relayPulseMsDefault = 10_000;
