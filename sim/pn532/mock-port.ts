/**
 * The virtual PN532 behind a @serialport/binding-mock port, in-process: the
 * host driver gets an ordinary SerialPortStream; the chip sees every write
 * (the binding's write is hooked) and answers with emitData, as bytes arriving
 * on the wire. For unit and e2e tests and an in-process station.
 */
import { createRequire } from 'node:module';
// binding-mock 10's exports map gives ESM no types; its CommonJS entry has them, so take both from there.
import type { MockBindingInterface, MockPortBinding } from '@serialport/binding-mock' with { 'resolution-mode': 'require' };
import { SerialPortStream } from '@serialport/stream';

/**
 * The one MockBinding registry this process uses (the ESM and CommonJS builds
 * each keep their own, so everyone must take it from here).
 */
export const { MockBinding } = createRequire(import.meta.url)('@serialport/binding-mock') as { MockBinding: MockBindingInterface };

/** The far end of the wire: the virtual chip, or a scripted one in a test. */
export interface SerialEndpoint {
  /** Bytes the host wrote. */
  receive(bytes: Uint8Array): void;
  /** Where the endpoint's own bytes go. */
  connect(output: (bytes: Uint8Array) => void): void;
  close?(): void;
}

export interface MockSerialPort {
  /** The host's end: hand it to Pn532Reader or Pn532Link. */
  readonly stream: SerialPortStream<MockBindingInterface>;
  readonly path: string;
  /** The mock binding, for tests that look at `recording` / `lastWrite`. */
  readonly binding: MockPortBinding;
  close(): Promise<void>;
}

let portsCreated = 0;

/** Routes the binding's writes into the endpoint and the endpoint's bytes into the binding. */
export function attachToMockBinding(endpoint: SerialEndpoint, binding: MockPortBinding): void {
  const write = binding.write.bind(binding);
  binding.write = async (buffer: Buffer): Promise<void> => {
    await write(buffer);
    endpoint.receive(new Uint8Array(buffer));
  };
  endpoint.connect((bytes) => {
    if (binding.isOpen) binding.emitData(Buffer.from(bytes));
  });
}

/** Opens a fresh mock port (recording on) with `endpoint` at the far end, e.g. a VirtualPn532. */
export async function openMockSerialPort(endpoint: SerialEndpoint, options: { baudRate?: number; path?: string } = {}): Promise<MockSerialPort> {
  const path = options.path ?? `/dev/virtual-pn532-${process.pid}-${++portsCreated}`;
  MockBinding.createPort(path, { record: true });
  const stream = new SerialPortStream({ binding: MockBinding, path, baudRate: options.baudRate ?? 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => stream.open((error) => (error ? reject(error) : resolve())));
  const binding = stream.port;
  if (binding === undefined) throw new Error(`mock port ${path} opened without a binding`);
  attachToMockBinding(endpoint, binding);
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      endpoint.close?.();
      if (!stream.isOpen) resolve();
      else stream.close(() => resolve());
    });
  return { stream, path, binding, close };
}
