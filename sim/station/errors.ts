/**
 * Errors of the simulated station (`tapsettle start`, the dashboard's
 * buttons, `tapsettle sim tap`): stable codes, each listed with what to do
 * in docs/operations.md "The simulated station".
 */
export const stationErrorCodes = [
  /** The station file is missing, not YAML, or invalid; the message names the key. */
  'TS_ERR_STATION_FILE',
  /** A station data file (gate key, phone holdings) is unreadable or not what the station wrote. */
  'TS_ERR_STATION_DATA',
  /** No phone of that name in the station. */
  'TS_ERR_STATION_UNKNOWN_PHONE',
  /** No device of that id in the station, or no such slot / product on it. */
  'TS_ERR_STATION_UNKNOWN_DEVICE',
  /** The phone is already on a reader, or the device is still busy with a customer. */
  'TS_ERR_STATION_BUSY',
  /** The device is cut off from the gateway (`cut`); reconnect it first. */
  'TS_ERR_STATION_CUT_OFF',
  /** The device did not take the tap (out of service, refused the choice) or did not finish it in time. */
  'TS_ERR_STATION_TAP',
  /** The station is not running (not started yet, or closed). */
  'TS_ERR_STATION_NOT_RUNNING',
] as const;
export type StationErrorCode = (typeof stationErrorCodes)[number];

export class StationError extends Error {
  override readonly name = 'StationError';
  readonly code: StationErrorCode;
  constructor(code: StationErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
