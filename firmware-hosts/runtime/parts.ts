/**
 * The hardware a host drives, as the interfaces of hardware/ (DESIGN §8).
 * Whoever starts the host opens the parts — real drivers on a Pi, simulators
 * in a station or a test — so the host program is the same code either way
 * (firmware-hosts never import sim/).
 */
import type { CodeReader } from '../../hardware/code-reader.ts';
import type { DigitalInput } from '../../hardware/digital-input.ts';
import type { NfcReader } from '../../hardware/nfc-reader.ts';
import type { Relay } from '../../hardware/relay.ts';
import { RuntimeError } from './errors.ts';

/** The customer-facing text display (an LCD on a real machine; the log and the dashboard in a simulation). */
export interface Display {
  show(text: string): void;
  readonly text: string;
}

export interface DeviceParts {
  nfc: NfcReader | null;
  relays: ReadonlyMap<string, Relay>;
  inputs: ReadonlyMap<string, DigitalInput>;
  codeReader: CodeReader | null;
  display: Display;
  /** Releases every part (relays back to rest first). Idempotent. */
  close(): Promise<void>;
}

/** Display text longer than this is cut: a 4×20 character LCD shows 80. */
export const displayTextMax = 80;

/** A display that keeps the last text and reports it to a listener (the log, the retained state). */
export class TextDisplay implements Display {
  private last = '';
  constructor(private readonly onShow: (text: string) => void = () => undefined) {}

  show(text: string): void {
    this.last = text.slice(0, displayTextMax);
    this.onShow(this.last);
  }

  get text(): string {
    return this.last;
  }
}

/** The named part, or a coded error naming what the device file must provide. */
export function requirePart<T>(map: ReadonlyMap<string, T>, name: string, what: string): T {
  const part = map.get(name);
  if (part === undefined) throw new RuntimeError('TS_ERR_DEVICE_PARTS', `${what} "${name}" is not among the parts (${[...map.keys()].join(', ') || 'none'}); add it under parts in the device file`);
  return part;
}
