/**
 * Errors of the fleet simulator: classes with stable codes, listed with what
 * to do about each in docs/fleet.md.
 */
export const fleetErrorCodes = [
  /** A scenario file is missing, unreadable, not YAML, or invalid; the message names the key. */
  'TS_ERR_SCENARIO_FILE',
  /** The simulated fleet could not be brought up (gateway, provisioning, a host). */
  'TS_ERR_FLEET_START',
] as const;
export type FleetErrorCode = (typeof fleetErrorCodes)[number];

export class FleetError extends Error {
  constructor(readonly code: FleetErrorCode, message: string) {
    super(message);
    this.name = 'FleetError';
  }
}
