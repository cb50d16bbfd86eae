/**
 * Simulated parts for a device file's `parts` section: relays and sensors as
 * in-memory parts, the NFC reader as the real PN532 driver talking to a
 * virtual PN532 over a mock serial port (a phone is tapped by placing it in
 * the chip's field), the keypad/scanner as a simulated HID reader. The host
 * gets them as the hardware/ interfaces; the station and tests keep the
 * handles to act as the customer and the machine.
 */
import { Pn532Reader } from '../../hardware/nfc/pn532-reader.ts';
import type { PartsSection } from '../../firmware-hosts/runtime/device-file.ts';
import { TextDisplay } from '../../firmware-hosts/runtime/parts.ts';
import type { DeviceParts } from '../../firmware-hosts/runtime/parts.ts';
import { SimDigitalInput } from '../gpio/sim-digital-input.ts';
import { SimRelay } from '../gpio/sim-relay.ts';
import { SimHidReader } from '../hid/sim-hid-reader.ts';
import { openMockSerialPort } from '../pn532/mock-port.ts';
import { realisticTiming, timingOff } from '../pn532/timing.ts';
import { VirtualPn532 } from '../pn532/virtual-pn532.ts';

export interface SimPartsOptions {
  /** PN532 timing model (115200 baud UART + RF): on in a station and the benchmark, off in unit tests. */
  timing?: boolean;
  /** Called with every text the display shows. */
  onDisplay?: (text: string) => void;
}

export interface SimHandles {
  chip: VirtualPn532 | null;
  relays: ReadonlyMap<string, SimRelay>;
  inputs: ReadonlyMap<string, SimDigitalInput>;
  keypad: SimHidReader | null;
  display: TextDisplay;
}

export async function openSimParts(section: PartsSection, options: SimPartsOptions = {}): Promise<{ parts: DeviceParts; sim: SimHandles }> {
  const relays = new Map<string, SimRelay>();
  for (const [name, r] of Object.entries(section.relays)) relays.set(name, new SimRelay({ name, ...(r.pulseMsMax !== undefined ? { pulseMsMax: r.pulseMsMax } : {}) }));
  const inputs = new Map<string, SimDigitalInput>();
  for (const [name, i] of Object.entries(section.inputs)) {
    inputs.set(name, new SimDigitalInput({ name, kind: i.kind, initial: false, ...(i.debounceMs !== undefined ? { debounceMs: i.debounceMs } : {}) }));
  }
  let chip: VirtualPn532 | null = null;
  let reader: Pn532Reader | null = null;
  if (section.nfc) {
    chip = new VirtualPn532({ timing: options.timing === true ? realisticTiming(115200) : timingOff });
    const port = await openMockSerialPort(chip);
    reader = new Pn532Reader(port.stream, {}, () => port.close());
    await reader.open();
  }
  const keypad = section.codeReader ? new SimHidReader({ name: 'keypad' }) : null;
  const display = new TextDisplay(options.onDisplay);
  let closed = false;
  const parts: DeviceParts = {
    nfc: reader, relays, inputs, codeReader: keypad, display,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const r of relays.values()) r.dispose();
      for (const i of inputs.values()) i.dispose();
      await keypad?.stop();
      await reader?.close();
    },
  };
  return { parts, sim: { chip, relays, inputs, keypad, display } };
}
