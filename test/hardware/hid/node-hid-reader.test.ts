import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { NodeHidDevice, NodeHidModule } from '../../../hardware/hid/node-hid-reader.ts';
import { createHidCodeReader } from '../../../hardware/hid/node-hid-reader.ts';
import { encodeText } from '../../../sim/hid/boot-keyboard-encoder.ts';
import { codeReaderContract } from '../contracts/code-reader-contract.ts';
import { record } from '../contracts/wait.ts';

/** A stand-in for node-hid's HIDAsync device: emits 'data' Buffers as its native read thread does. */
class FakeHidDevice extends EventEmitter implements NodeHidDevice {
  closed = false;
  close(): Promise<void> {
    this.closed = true;
    this.removeAllListeners();
    return Promise.resolve();
  }
}

interface FakeNodeHid {
  load: () => Promise<NodeHidModule>;
  loadCount: () => number;
  devices: FakeHidDevice[];
  driverTypes: string[];
}

function fakeNodeHid(options: { failOpen?: boolean } = {}): FakeNodeHid {
  const devices: FakeHidDevice[] = [];
  const driverTypes: string[] = [];
  let loads = 0;
  const module: NodeHidModule = {
    HIDAsync: {
      open: () => {
        if (options.failOpen === true) return Promise.reject(new Error('could not open device'));
        const device = new FakeHidDevice();
        devices.push(device);
        return Promise.resolve(device);
      },
    },
    getHidapiVersion: () => '0.14.0',
    setDriverType: (type) => void driverTypes.push(type),
  };
  const load = (): Promise<NodeHidModule> => {
    loads += 1;
    return Promise.resolve(module);
  };
  return { load, loadCount: () => loads, devices, driverTypes };
}

// Our node-hid reader (NodeHidSource + ReportCodeReader), node-hid itself replaced at its import seam.
codeReaderContract('node-hid reader on a fake HIDAsync device', (options) => {
  const fake = fakeNodeHid();
  const reader = createHidCodeReader({ ...options, device: { vendorId: 0x0c2e, productId: 0x0b61 } }, fake.load);
  const send = (report: Uint8Array): void => void fake.devices.at(-1)?.emit('data', Buffer.from(report));
  return Promise.resolve({ reader, scan: (text) => encodeText(text).forEach(send), sendReport: send, cleanup: () => reader.stop() });
});

describe('node-hid reader', () => {
  it('loads node-hid on start(), not before, and closes the device on stop()', async () => {
    const fake = fakeNodeHid();
    const reader = createHidCodeReader({ name: 'scanner', device: { path: '/dev/hidraw0' }, driver: 'libusb' }, fake.load);
    expect(fake.loadCount()).toBe(0);
    await reader.start();
    expect(fake.loadCount()).toBe(1);
    expect(fake.driverTypes).toEqual(['libusb']);
    await reader.stop();
    expect(fake.devices[0]?.closed).toBe(true);
  });

  it('turns a device error into a TS_ERR_HID_READ fault and stops', async () => {
    const fake = fakeNodeHid();
    const reader = createHidCodeReader({ name: 'scanner', device: { path: '/dev/hidraw0' } }, fake.load);
    const faults = record<Error & { code?: string }>(reader, 'fault');
    await reader.start();
    fake.devices[0]?.emit('error', new Error('read error'));
    expect(faults.map((fault) => fault.code)).toEqual(['TS_ERR_HID_READ']);
    expect(reader.running).toBe(false);
  });

  it('says which device could not be opened, with TS_ERR_HID_OPEN', async () => {
    const reader = createHidCodeReader({ name: 'scanner', device: { vendorId: 0x05e0, productId: 0x1200 } }, fakeNodeHid({ failOpen: true }).load);
    await expect(reader.start()).rejects.toMatchObject({ code: 'TS_ERR_HID_OPEN', message: expect.stringContaining('05e0:1200') as unknown });
    expect(reader.running).toBe(false);
  });

  // The real node-hid, loaded lazily. Where its native part loads (libusb/libudev present), opening a
  // path that does not exist must fail with TS_ERR_HID_OPEN; where it cannot load (this CI machine has
  // no libusb-1.0.so.0), start() must fail with TS_ERR_HID_DRIVER_MISSING and say what to install.
  it('real node-hid: a clear coded error for a missing device or a missing native library', async () => {
    const reader = createHidCodeReader({ name: 'scanner', device: { path: '/dev/hidraw-does-not-exist' } });
    const error: unknown = await reader.start().then(() => null, (caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'HidError' });
    const { code, message } = error as { code: string; message: string };
    if (code === 'TS_ERR_HID_DRIVER_MISSING') expect(message).toContain('apt install libusb-1.0-0');
    else expect({ code, message }).toMatchObject({ code: 'TS_ERR_HID_OPEN', message: expect.stringContaining('/dev/hidraw-does-not-exist') as unknown });
    expect(reader.running).toBe(false);
  });
});
