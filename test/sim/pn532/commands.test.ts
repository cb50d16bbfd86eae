/**
 * The command layer (hardware/nfc/pn532-commands.ts over Pn532Link) against
 * the virtual PN532 over a binding-mock serial port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCommand } from '../../../hardware/nfc/frame.ts';
import { Pn532Commands } from '../../../hardware/nfc/pn532-commands.ts';
import { Pn532Link } from '../../../hardware/nfc/pn532-link.ts';
import { IsoDepTestTarget, selectApdu } from '../../../sim/pn532/iso-dep-test-target.ts';
import { openMockSerialPort } from '../../../sim/pn532/mock-port.ts';
import type { MockSerialPort } from '../../../sim/pn532/mock-port.ts';
import { realisticTiming } from '../../../sim/pn532/timing.ts';
import { VirtualPn532 } from '../../../sim/pn532/virtual-pn532.ts';
import type { VirtualPn532Options } from '../../../sim/pn532/virtual-pn532.ts';

const aid = Uint8Array.of(0xf0, 0x54, 0x41, 0x50, 0x53);
const opened: Array<{ port: MockSerialPort; link: Pn532Link }> = [];

async function setup(options: VirtualPn532Options = {}): Promise<{ chip: VirtualPn532; port: MockSerialPort; link: Pn532Link; commands: Pn532Commands }> {
  const chip = new VirtualPn532({ startAsleep: false, ...options });
  const port = await openMockSerialPort(chip);
  const link = new Pn532Link(port.stream, { ackTimeoutMs: 40 });
  link.start();
  opened.push({ port, link });
  return { chip, port, link, commands: new Pn532Commands(link) };
}

afterEach(async () => {
  for (const { port, link } of opened.splice(0)) {
    link.stop();
    await port.close();
  }
});

describe('PN532 command layer against the virtual chip', () => {
  it('GetFirmwareVersion and SAMConfiguration, with the worked frames on the wire', async () => {
    const { port, commands } = await setup();
    await expect(commands.getFirmwareVersion()).resolves.toEqual({ ic: 0x32, ver: 1, rev: 6, support: 7 });
    await commands.samConfiguration();
    expect(new Uint8Array(port.binding.recording)).toEqual(Uint8Array.of(...encodeCommand(0x02), 0x00, 0x00, 0xff, 0x03, 0xfd, 0xd4, 0x14, 0x01, 0x17, 0x00));
  });

  it('InListPassiveTarget: null once the bounded retries ran out, the target once one is in the field', async () => {
    const { chip, commands } = await setup();
    await commands.setPassiveActivationRetries(0x02);
    await expect(commands.inListPassiveTarget()).resolves.toBeNull();
    chip.field.place(new IsoDepTestTarget({ aid }));
    const target = await commands.inListPassiveTarget();
    expect(target).toMatchObject({ tg: 1, sak: 0x20, atqa: Uint8Array.of(0x00, 0x04), ats: Uint8Array.of(0x78, 0x80, 0x70, 0x02) });
    expect(target?.uid).toHaveLength(4);
  });

  it('InDataExchange carries an APDU and its answer; InRelease lets the target go', async () => {
    const { chip, commands } = await setup();
    const phone = new IsoDepTestTarget({ aid });
    chip.field.place(phone);
    await commands.inListPassiveTarget();
    await expect(commands.inDataExchange(1, selectApdu(aid), { responseTimeoutMs: 500 })).resolves.toEqual({ status: 0, data: Uint8Array.of(0x90, 0x00) });
    await commands.inRelease(1);
    expect(chip.state.active.size).toBe(0);
    await expect(commands.inRelease(1)).rejects.toMatchObject({ code: 'TS_ERR_PN532_STATUS', status: 0x27 });
  });

  it('recovers a command frame lost on the wire: ACK timeout, resend, answer', async () => {
    const { chip, link, commands } = await setup();
    chip.faults.dropCommands = 1;
    await expect(commands.getFirmwareVersion()).resolves.toMatchObject({ ic: 0x32 });
    expect(link.counters).toMatchObject({ ackTimeouts: 1, retries: 1 });
  });

  it('gives up with TS_ERR_PN532_NO_ACK when every send is lost', async () => {
    const { chip, commands } = await setup();
    chip.faults.dropCommands = 10;
    await expect(commands.getFirmwareVersion()).rejects.toMatchObject({ code: 'TS_ERR_PN532_NO_ACK' });
  });

  it('recovers a corrupted response: the host NACKs and the chip resends', async () => {
    const { chip, link, commands } = await setup();
    chip.faults.corruptResponses = 1;
    await expect(commands.getFirmwareVersion()).resolves.toMatchObject({ ic: 0x32 });
    expect(link.counters.nacksSent).toBe(1);
    expect(chip.counters).toMatchObject({ nacksReceived: 1, resends: 1 });
  });

  it('answers TS_ERR_PN532_SYNTAX for a command the chip does not know', async () => {
    const { link } = await setup();
    await expect(link.command(0x7e)).rejects.toMatchObject({ code: 'TS_ERR_PN532_SYNTAX' });
  });

  it('with the timing model on, answers take their UART and RF time', async () => {
    const { chip, commands } = await setup({ timing: realisticTiming(115200) });
    let started = performance.now();
    await commands.getFirmwareVersion();
    const firmwareMs = performance.now() - started;
    // 9-byte command + 6-byte ACK + 14-byte answer at 86.8 µs per byte.
    expect(firmwareMs).toBeGreaterThanOrEqual(29 * 0.0868 - 0.1);
    chip.field.place(new IsoDepTestTarget({ aid }));
    started = performance.now();
    await commands.inListPassiveTarget();
    expect(performance.now() - started).toBeGreaterThanOrEqual(realisticTiming().activationMs - 1);
  });
});
