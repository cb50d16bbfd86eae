/**
 * Opens the parts a device file names: real drivers (GPIO board over
 * johnny-five, PN532 on a UART, HID reader) or simulators, per part. The
 * drivers are imported only when named, so a Pi without libusb runs a host
 * whose file does not ask for a HID reader.
 */
import type { DeviceParts } from '../firmware-hosts/runtime/parts.ts';
import { TextDisplay } from '../firmware-hosts/runtime/parts.ts';
import type { PartsSection } from '../firmware-hosts/runtime/device-file.ts';
import { RuntimeError } from '../firmware-hosts/runtime/errors.ts';
import type { CodeReader } from '../hardware/code-reader.ts';
import type { DigitalInput } from '../hardware/digital-input.ts';
import type { NfcReader } from '../hardware/nfc-reader.ts';
import type { Relay } from '../hardware/relay.ts';
import type { SimHandles } from '../sim/station/sim-parts.ts';

const allSim = (p: PartsSection): boolean => p.board.backend === 'sim' && (p.nfc?.driver ?? 'sim') === 'sim' && (p.codeReader?.driver ?? 'sim') === 'sim';

export async function openDeviceParts(section: PartsSection, options: { timing?: boolean; onDisplay?: (text: string) => void } = {}): Promise<{ parts: DeviceParts; sim: SimHandles | null }> {
  if (allSim(section)) {
    const { openSimParts } = await import('../sim/station/sim-parts.ts');
    return openSimParts(section, options);
  }
  if (section.board.backend === 'sim' || section.nfc?.driver === 'sim' || section.codeReader?.driver === 'sim') {
    throw new RuntimeError('TS_ERR_DEVICE_PARTS', 'parts: mix of simulated and real parts; a device file is either all sim (board, nfc, codeReader) or all real');
  }
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const { GpioBoard } = await import('../hardware/gpio/board.ts');
    const b = section.board;
    const board = await GpioBoard.open(b.backend === 'firmata' ? { backend: 'firmata', path: b.path, ...(b.baudRate !== undefined ? { baudRate: b.baudRate } : {}) } : { backend: 'gpiod', ...(b.backend === 'gpiod' && b.chip !== undefined ? { chip: b.chip } : {}) });
    closers.push(() => board.close());
    const relays = new Map<string, Relay>();
    for (const [name, r] of Object.entries(section.relays)) relays.set(name, board.relay({ name, pin: r.pin, ...(r.activeLevel ? { activeLevel: r.activeLevel } : {}), ...(r.pulseMsMax !== undefined ? { pulseMsMax: r.pulseMsMax } : {}) }));
    const inputs = new Map<string, DigitalInput>();
    for (const [name, i] of Object.entries(section.inputs)) {
      inputs.set(name, await board.input({ name, kind: i.kind, pin: i.pin, ...(i.activeLevel ? { activeLevel: i.activeLevel } : {}), ...(i.pullUp !== undefined ? { pullUp: i.pullUp } : {}), ...(i.debounceMs !== undefined ? { debounceMs: i.debounceMs } : {}) }));
    }
    let nfc: NfcReader | null = null;
    if (section.nfc?.driver === 'pn532-uart') {
      const { openNfcReader } = await import('../hardware/nfc/open-reader.ts');
      const reader = await openNfcReader({ driver: 'pn532-uart', path: section.nfc.path, ...(section.nfc.baudRate !== undefined ? { baudRate: section.nfc.baudRate } : {}) });
      closers.push(() => reader.close());
      nfc = reader;
    }
    let codeReader: CodeReader | null = null;
    if (section.codeReader?.driver === 'hid') {
      const { createHidCodeReader } = await import('../hardware/hid/node-hid-reader.ts');
      const reader = createHidCodeReader({ name: 'keypad', device: { vendorId: section.codeReader.vendorId, productId: section.codeReader.productId } });
      closers.push(() => reader.stop());
      codeReader = reader;
    }
    let closed = false;
    const parts: DeviceParts = {
      nfc, relays, inputs, codeReader, display: new TextDisplay(options.onDisplay),
      close: async () => {
        if (closed) return;
        closed = true;
        await closeAll();
      },
    };
    return { parts, sim: null };
  } catch (err) {
    await closeAll();
    if (err instanceof RuntimeError) throw err;
    throw new RuntimeError('TS_ERR_DEVICE_PARTS', `parts: ${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`, { cause: err });
  }
}
