/**
 * One opening of the gate: the relay opens for at most the pulse; the
 * passage sensor seeing someone (the beam broken, then clear again) ends it
 * early. Resolves `passed`, `not-passed` or `not-opened`; the relay is closed either way,
 * and on any error (a busy or disposed relay) the gate stays closed.
 */
import type { DigitalInput } from '../../hardware/digital-input.ts';
import type { Relay } from '../../hardware/relay.ts';
import { bounded } from '../runtime/machine.ts';

/** not-opened: the relay refused to open (busy, disposed): nobody could pass. */
export type Passage = 'passed' | 'not-passed' | 'not-opened';

/** After the pulse ends, how long a beam still broken may take to clear before the gate closes anyway. */
const clearSlackMs = 1_000;

function nextLevel(sensor: DigitalInput, active: boolean): { seen: Promise<void>; cancel(): void } {
  let listener: ((v: boolean) => void) | null = null;
  const seen = new Promise<void>((resolve) => {
    if (sensor.value === active) return resolve();
    listener = (v) => { if (v === active) resolve(); };
    sensor.on('change', listener);
  });
  return { seen, cancel: () => { if (listener) sensor.off('change', listener); } };
}

export async function openForPassage(relay: Relay, sensor: DigitalInput, pulseMs: number, onOpen: () => void): Promise<Passage> {
  // Only a beam broken after the gate opens counts: someone already standing in it is not a passage.
  const broken = { seen: null as Promise<void> | null, cancel: () => undefined as void };
  let listener: ((v: boolean) => void) | null = null;
  broken.seen = new Promise<void>((resolve) => {
    listener = (v) => { if (v) resolve(); };
    sensor.on('change', listener);
  });
  broken.cancel = () => { if (listener) sensor.off('change', listener); };
  const ended = relay.pulse(pulseMs).then(() => 'ended' as const, () => 'ended' as const);
  if (relay.state !== 'open') {
    // The relay refused the pulse (busy, disposed, out of range): the gate stays closed.
    broken.cancel();
    relay.close();
    return 'not-opened';
  }
  onOpen();
  try {
    const first = await Promise.race([broken.seen.then(() => 'broken' as const), ended]);
    if (first === 'ended') return 'not-passed';
    const clear = nextLevel(sensor, false);
    await bounded('passage sensor clear', Promise.race([clear.seen, ended]), pulseMs + clearSlackMs);
    clear.cancel();
    return 'passed';
  } finally {
    broken.cancel();
    relay.close();
    await bounded('relay closed', ended, clearSlackMs);
  }
}
