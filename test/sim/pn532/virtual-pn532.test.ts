/**
 * The virtual PN532 at byte level: frames in through receive(), frames out
 * through connect(), checked against the user manual's dialogue.
 */
import { describe, expect, it } from 'vitest';
import { ackFrame, concatBytes, encodeCommand, errorFrame, nackFrame, wakeupSequence } from '../../../hardware/nfc/frame.ts';
import type { Pn532Frame } from '../../../hardware/nfc/frame.ts';
import { Pn532FrameParser } from '../../../hardware/nfc/frame-parser.ts';
import { IsoDepTestTarget } from '../../../sim/pn532/iso-dep-test-target.ts';
import { PlainTag } from '../../../sim/pn532/plain-tag.ts';
import { VirtualPn532 } from '../../../sim/pn532/virtual-pn532.ts';
import type { VirtualPn532Options } from '../../../sim/pn532/virtual-pn532.ts';

const hex = (text: string): Uint8Array => Uint8Array.from(text.split(' ').map((b) => parseInt(b, 16)));
const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const aid = hex('F0 54 41 50 53 45 54');

function wiredChip(options: VirtualPn532Options = {}): { chip: VirtualPn532; bytes: () => Uint8Array; frames: () => Pn532Frame[] } {
  const chip = new VirtualPn532({ startAsleep: false, ...options });
  const out: Uint8Array[] = [];
  chip.connect((b) => out.push(b));
  return { chip, bytes: () => concatBytes(...out), frames: () => new Pn532FrameParser().push(concatBytes(...out)) };
}

const answer = (code: number, data: number[] = []): Pn532Frame => ({ kind: 'info', tfi: 0xd5, data: Uint8Array.of(code, ...data) });

describe('virtual PN532: framing as the user manual describes it', () => {
  it('ACKs SAMConfiguration and answers 00 00 FF 02 FE D5 15 16 00, byte for byte', async () => {
    const { chip, bytes } = wiredChip();
    chip.receive(hex('00 00 FF 03 FD D4 14 01 17 00'));
    await tick();
    expect(bytes()).toEqual(hex('00 00 FF 00 FF 00 00 00 FF 02 FE D5 15 16 00'));
  });

  it('answers GetFirmwareVersion with IC 32, Ver 1, Rev 6, Support 7', async () => {
    const { chip, frames } = wiredChip();
    chip.receive(hex('00 00 FF 02 FE D4 02 2A 00'));
    await tick();
    expect(frames()).toEqual([{ kind: 'ack' }, answer(0x03, [0x32, 0x01, 0x06, 0x07])]);
  });

  it('ignores a frame with a bad checksum (no ACK, no NACK): the host resends after its ACK timeout', async () => {
    const { chip, bytes } = wiredChip();
    chip.receive(hex('00 00 FF 02 FE D4 02 2B 00'));
    await tick();
    expect(bytes()).toEqual(new Uint8Array(0));
    expect(chip.parser.counters.badDataChecksum).toBe(1);
  });

  it('ACKs then sends the error frame for an unknown command or bad parameters', async () => {
    const { chip, bytes } = wiredChip();
    chip.receive(encodeCommand(0x7e));
    await tick();
    chip.receive(encodeCommand(0x14, Uint8Array.of(0x09)));
    await tick();
    expect(bytes()).toEqual(concatBytes(ackFrame, errorFrame, ackFrame, errorFrame));
    expect(chip.counters.errorFramesSent).toBe(2);
  });

  it('aborts the command in progress when a new one arrives (UM: a new command aborts the previous)', async () => {
    const { chip, frames } = wiredChip();
    chip.receive(encodeCommand(0x4a, hex('01 00')));
    chip.receive(encodeCommand(0x02));
    await tick();
    expect(frames()).toEqual([{ kind: 'ack' }, { kind: 'ack' }, answer(0x03, [0x32, 0x01, 0x06, 0x07])]);
    expect(chip.counters.aborts).toBe(1);
  });

  it('resends its last response when the host NACKs', async () => {
    const { chip, frames } = wiredChip();
    chip.receive(encodeCommand(0x02));
    await tick();
    chip.receive(nackFrame);
    await tick();
    expect(frames()).toEqual([{ kind: 'ack' }, answer(0x03, [0x32, 0x01, 0x06, 0x07]), answer(0x03, [0x32, 0x01, 0x06, 0x07])]);
  });

  it('stops a waiting InListPassiveTarget when the host sends an ACK (abort), and answers nothing for it', async () => {
    const { chip, frames } = wiredChip();
    chip.receive(encodeCommand(0x4a, hex('01 00'))); // MxRtyPassiveActivation is 0xFF after power-on: waits forever
    await tick();
    chip.receive(ackFrame);
    chip.field.place(new PlainTag());
    await tick();
    expect(frames()).toEqual([{ kind: 'ack' }]);
    expect(chip.counters.aborts).toBe(1);
  });

  it('sleeps until woken: the waking byte is lost, 55 55 00… then SAMConfiguration works', async () => {
    const { chip, frames } = wiredChip({ startAsleep: true });
    chip.receive(wakeupSequence());
    chip.receive(encodeCommand(0x14, Uint8Array.of(0x01)));
    await tick();
    expect(frames()).toEqual([{ kind: 'ack' }, answer(0x15)]);
    expect(chip.counters.wakeups).toBe(1);
    expect(chip.parser.counters.garbageBytes).toBe(0);
  });

  it('goes back to sleep after PowerDown', async () => {
    const { chip } = wiredChip();
    chip.receive(encodeCommand(0x16, Uint8Array.of(0x20)));
    await tick();
    expect(chip.isAsleep).toBe(true);
  });
});

describe('virtual PN532: the commands libnfc sends when it opens a chip', () => {
  it('Diagnose test 0 echoes, ReadRegister returns what WriteRegister wrote, SetParameters and RFConfiguration answer empty', async () => {
    const { chip, frames } = wiredChip();
    const commands: Array<[number, string]> = [
      [0x00, '00 6C 69 62 6E 66 63'], [0x08, '63 02 80 63 03 80'], [0x06, '63 02 63 03 63 05'],
      [0x12, '14'], [0x32, '02 00 0B 0A'], [0x32, '05 FF 01 02'],
    ];
    for (const [code, params] of commands) {
      chip.receive(encodeCommand(code, hex(params)));
      await tick(1); // one command in flight, as a host does
    }
    const infos = frames().filter((f) => f.kind === 'info');
    expect(infos).toEqual([
      answer(0x01, [0x00, 0x6c, 0x69, 0x62, 0x6e, 0x66, 0x63]), answer(0x09), answer(0x07, [0x80, 0x80, 0x00]),
      answer(0x13), answer(0x33), answer(0x33),
    ]);
    expect(chip.state.passiveActivationRetries).toBe(0x02);
    expect(chip.state.parameters).toBe(0x14);
  });

  it('InListPassiveTarget reports an ISO-DEP target with its ATS and a plain tag without', async () => {
    const { chip, frames } = wiredChip();
    const phone = new IsoDepTestTarget({ aid });
    chip.field.place(phone);
    chip.receive(encodeCommand(0x4a, hex('01 00')));
    await tick();
    const [, found] = frames();
    expect(found?.kind === 'info' && [...found.data.subarray(0, 6)]).toEqual([0x4b, 0x01, 0x01, 0x00, 0x04, 0x20]);
    expect(found?.kind === 'info' && [...found.data.subarray(-5)]).toEqual([0x05, 0x78, 0x80, 0x70, 0x02]);
    chip.field.remove();
    const tag = new PlainTag({ uid: hex('04 11 22 33 44 55 66') });
    chip.field.place(tag);
    chip.receive(encodeCommand(0x4a, hex('01 00')));
    await tick();
    expect(frames().at(-1)).toEqual(answer(0x4b, [0x01, 0x01, 0x00, 0x44, 0x00, 0x07, 0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]));
  });

  it('InDataExchange relays an APDU; status 01 once the target has left; 27 for an unknown Tg', async () => {
    const { chip, frames } = wiredChip();
    const phone = new IsoDepTestTarget({ aid });
    chip.field.place(phone);
    chip.receive(encodeCommand(0x4a, hex('01 00')));
    await tick();
    chip.receive(encodeCommand(0x40, Uint8Array.of(0x01, 0x00, 0xa4, 0x04, 0x00, aid.length, ...aid, 0x00)));
    await tick();
    chip.field.remove(phone);
    chip.receive(encodeCommand(0x40, hex('01 80 EE 00 00 00')));
    await tick();
    chip.receive(encodeCommand(0x40, hex('02 80 EE 00 00 00')));
    await tick();
    expect(frames().filter((f) => f.kind === 'info').slice(1)).toEqual([answer(0x41, [0x00, 0x90, 0x00]), answer(0x41, [0x01]), answer(0x41, [0x27])]);
  });

  it('InDeselect halts the target (ISO 14443-3): polls do not find it until it re-enters the field; InSelect wakes it', async () => {
    const { chip, frames } = wiredChip();
    const phone = new IsoDepTestTarget({ aid });
    chip.field.place(phone);
    const send = async (code: number, params: string): Promise<void> => {
      chip.receive(encodeCommand(code, hex(params)));
      await tick();
    };
    await send(0x32, '05 FF 01 00'); // one activation attempt per poll
    await send(0x4a, '01 00');
    await send(0x44, '00');
    await send(0x40, '01 80 EE 00 00 00');
    await send(0x54, '01');
    await send(0x40, '01 80 EE 00 00 00');
    await send(0x52, '01');
    await send(0x4a, '01 00');
    chip.field.remove(phone);
    chip.field.place(phone);
    await send(0x4a, '01 00');
    const infos = frames().filter((f): f is Extract<Pn532Frame, { kind: 'info' }> => f.kind === 'info');
    expect(infos.map((f) => [...f.data.subarray(0, 2)])).toEqual([[0x33], [0x4b, 0x01], [0x45, 0x00], [0x41, 0x01], [0x55, 0x00], [0x41, 0x00], [0x53, 0x00], [0x4b, 0x00], [0x4b, 0x01]]);
  });

  it('InRelease deactivates the target; releasing it again says 27', async () => {
    const { chip, frames } = wiredChip();
    chip.field.place(new PlainTag());
    chip.receive(encodeCommand(0x4a, hex('01 00')));
    await tick();
    chip.receive(encodeCommand(0x52, hex('01')));
    await tick();
    chip.receive(encodeCommand(0x52, hex('01')));
    await tick();
    expect(frames().filter((f) => f.kind === 'info').slice(1)).toEqual([answer(0x53, [0x00]), answer(0x53, [0x27])]);
    expect(chip.state.active.size).toBe(0);
  });
});
