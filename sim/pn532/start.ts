/**
 * Starting a virtual PN532 for a station: a chip with the timing model on,
 * its field, served on a pty whose path host software opens. This is what
 * `tapsettle sim pn532 --pty` runs; tests build the parts themselves.
 */
import { RfField } from './field.ts';
import { startVirtualPn532Pty } from './pty.ts';
import type { PtyOptions } from './pty.ts';
import { realisticTiming, timingOff } from './timing.ts';
import { VirtualPn532 } from './virtual-pn532.ts';

export interface StartVirtualPn532Options extends PtyOptions {
  /** Realistic UART/RF latencies (default) or none. */
  timing?: boolean;
}

export interface RunningVirtualPn532 {
  readonly chip: VirtualPn532;
  /** Place simulated phones and tags here, remove them to end the tap. */
  readonly field: RfField;
  /** The serial device to give the host program (e.g. in its nfc.port config). */
  readonly hostPath: string;
  readonly via: 'socat' | 'python3';
  close(): Promise<void>;
}

/** Rejects with SimPtyError (TS_ERR_SIM_PTY_UNAVAILABLE) when this machine cannot make a pty, saying why. */
export async function startVirtualPn532(options: StartVirtualPn532Options = {}): Promise<RunningVirtualPn532> {
  const baudRate = options.baudRate ?? 115200;
  const field = new RfField();
  const chip = new VirtualPn532({ field, timing: options.timing === false ? timingOff : realisticTiming(baudRate) });
  const pty = await startVirtualPn532Pty(chip, { ...options, baudRate });
  return { chip, field, hostPath: pty.hostPath, via: pty.via, close: () => pty.close() };
}
