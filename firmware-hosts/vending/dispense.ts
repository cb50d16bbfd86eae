/**
 * One vend: turn the slot's spiral for a pulse and watch the drop sensor
 * until the deadline (counted from the start of the pulse). The relay is
 * back at rest whatever happens: after the pulse, on an error, and at the
 * deadline.
 */
import type { DigitalInput } from '../../hardware/digital-input.ts';
import type { Relay } from '../../hardware/relay.ts';
import { errorCode } from '../runtime/tap.ts';

export type VendResult =
  | { dropped: true; afterMs: number }
  | { dropped: false; why: 'no-drop' | 'sensor-blocked' | 'relay-error'; detail: string };

export async function vend(relay: Relay, sensor: DigitalInput, pulseMs: number, dropDeadlineMs: number): Promise<VendResult> {
  // A sensor that is already active (an article stuck in the curtain, a hand in the flap) cannot see a new drop.
  if (sensor.value) return { dropped: false, why: 'sensor-blocked', detail: `drop sensor ${sensor.name} was active before the turn` };
  const started = performance.now();
  let onChange: ((active: boolean) => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopWaiting: (dropped: boolean) => void = () => undefined;
  const seen = new Promise<boolean>((resolve) => {
    stopWaiting = resolve;
    onChange = (active) => {
      if (active) resolve(true);
    };
    sensor.on('change', onChange);
    timer = setTimeout(() => resolve(false), dropDeadlineMs);
  });
  try {
    let pulseError: unknown = null;
    const pulse = relay.pulse(pulseMs).catch((err: unknown) => {
      pulseError = err;
      // The spiral never turned: nothing can fall, so do not make the customer wait out the deadline.
      stopWaiting(false);
    });
    const dropped = await seen;
    // The drop ends the wait, not the turn: the spiral finishes its pulse so the next article sits in place.
    await pulse;
    if (pulseError !== null && !dropped) return { dropped: false, why: 'relay-error', detail: `${errorCode(pulseError)}: ${(pulseError as Error).message}` };
    if (!dropped) return { dropped: false, why: 'no-drop', detail: `nothing fell within ${dropDeadlineMs} ms` };
    return { dropped: true, afterMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
    if (onChange !== null) sensor.off('change', onChange);
    relay.close();
  }
}
