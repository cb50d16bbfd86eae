/**
 * The parts a vending machine needs, checked once at start against its
 * device file (a missing part or a pulse its relay refuses is a coded error
 * naming the key), and the parts as the dashboard shows them.
 */
import type { DigitalInput } from '../../hardware/digital-input.ts';
import type { CodeReader } from '../../hardware/code-reader.ts';
import type { NfcReader } from '../../hardware/nfc-reader.ts';
import type { DeviceOutput } from '../../protocol/index.ts';
import { RuntimeError } from '../runtime/errors.ts';
import type { DeviceParts } from '../runtime/parts.ts';
import { requirePart } from '../runtime/parts.ts';
import type { VendingSettings } from './settings.ts';

export interface VendingParts {
  nfc: NfcReader;
  keypad: CodeReader;
  drop: DigitalInput;
  door: DigitalInput | null;
}

export function checkParts(parts: DeviceParts, s: VendingSettings): VendingParts {
  if (parts.nfc === null) throw new RuntimeError('TS_ERR_DEVICE_PARTS', 'a vending machine needs an NFC reader: add parts.nfc');
  if (parts.codeReader === null) throw new RuntimeError('TS_ERR_DEVICE_PARTS', 'a vending machine needs a keypad: add parts.codeReader');
  for (const [code, slot] of Object.entries(s.slots)) {
    const relay = requirePart(parts.relays, slot.relay, `relay of slot ${code} (vending.slots.${code}.relay)`);
    if (s.pulseMs > relay.pulseMsMax) {
      throw new RuntimeError('TS_ERR_DEVICE_FILE', `vending.pulseMs: ${s.pulseMs} ms is longer than relay ${relay.name} allows (${relay.pulseMsMax} ms, parts.relays.${relay.name}.pulseMsMax)`);
    }
  }
  const drop = requirePart(parts.inputs, s.dropSensor, 'drop sensor (vending.dropSensor)');
  if (drop.kind !== 'drop-sensor') throw new RuntimeError('TS_ERR_DEVICE_FILE', `vending.dropSensor: input ${drop.name} is a ${drop.kind}, not a drop-sensor`);
  const door = s.doorSwitch === undefined ? null : requirePart(parts.inputs, s.doorSwitch, 'door switch (vending.doorSwitch)');
  if (door !== null && door.kind !== 'door-switch') throw new RuntimeError('TS_ERR_DEVICE_FILE', `vending.doorSwitch: input ${door.name} is a ${door.kind}, not a door-switch`);
  return { nfc: parts.nfc, keypad: parts.codeReader, drop, door };
}

export function vendingOutputs(parts: DeviceParts, s: VendingSettings, drop: DigitalInput, door: DigitalInput | null, slots: DeviceOutput[]): DeviceOutput[] {
  const relays = Object.values(s.slots).map(({ relay }) => ({ name: relay, kind: 'relay' as const, state: parts.relays.get(relay)?.state ?? 'closed' }));
  const sensors = [drop, ...(door ? [door] : [])].map((i) => ({ name: i.name, kind: 'sensor' as const, state: i.value ? 'active' : 'idle' }));
  const display = { name: 'display', kind: 'display' as const, state: parts.display.text || ' ' };
  return [...relays, ...sensors, ...slots, display];
}
