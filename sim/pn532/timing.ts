/**
 * The virtual PN532's timing model. Off (all zero) for unit tests, so they
 * run as fast as the event loop; on for a simulated station, so a host sees
 * roughly the latencies of a real reader. The figures are estimates from the
 * data sheets, not measurements of a chip.
 */
export interface Pn532Timing {
  /** One byte on the UART: start bit, 8 data bits, stop bit (8N1). */
  readonly uartByteMs: number;
  /** Field on, REQA, anticollision, SELECT and RATS for one ISO 14443-A target. */
  readonly activationMs: number;
  /** One activation attempt that found nothing (the chip repeats it MxRtyPassiveActivation times). */
  readonly emptyAttemptMs: number;
  /** One byte at 106 kbit/s with its parity bit (9 bits / 106 kbit/s). */
  readonly rfByteMs: number;
  /** How long the chip waits for a target that stopped answering before status 0x01 (fRetryTimeout 0x0A = 51.2 ms). */
  readonly rfTimeoutMs: number;
}

export const timingOff: Pn532Timing = { uartByteMs: 0, activationMs: 0, emptyAttemptMs: 0, rfByteMs: 0, rfTimeoutMs: 0 };

export function realisticTiming(baudRate = 115200): Pn532Timing {
  if (!Number.isFinite(baudRate) || baudRate <= 0) throw new RangeError(`baudRate must be a positive number, got ${baudRate}`);
  return {
    uartByteMs: (10 / baudRate) * 1000,
    activationMs: 15,
    emptyAttemptMs: 5,
    rfByteMs: (9 / 106_000) * 1000,
    rfTimeoutMs: 51.2,
  };
}
