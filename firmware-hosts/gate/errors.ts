/**
 * A tap that cannot go on — the phone left mid-exchange, its data is
 * unreadable, the customer did not consent, the request could not be stored
 * — is refused with this reason. It is the customer's problem, not a fault of
 * the gate: the gate stays closed and keeps running.
 */
export class TapError extends Error {
  override readonly name = 'TapError';
}
