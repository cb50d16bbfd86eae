/**
 * The command transport alone, against a scripted chip on a binding-mock
 * port: each test decides what "the chip" answers to each frame it receives.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { isPn532Error } from '../../../hardware/nfc/errors.ts';
import { ackFrame, encodeCommand, encodeResponse, errorFrame, nackFrame } from '../../../hardware/nfc/frame.ts';
import { Pn532Link } from '../../../hardware/nfc/pn532-link.ts';
import type { Pn532LinkOptions } from '../../../hardware/nfc/pn532-link.ts';
import { openMockSerialPort } from '../../../sim/pn532/mock-port.ts';
import type { MockSerialPort } from '../../../sim/pn532/mock-port.ts';

type Script = (written: Uint8Array, send: (...frames: Uint8Array[]) => void, writeNumber: number) => void;

const firmwareAnswer = encodeResponse(0x03, Uint8Array.of(0x32, 0x01, 0x06, 0x07));
const getFirmware = encodeCommand(0x02);
const open: Array<{ port: MockSerialPort; link: Pn532Link }> = [];

async function scripted(script: Script, options: Pn532LinkOptions = {}): Promise<{ port: MockSerialPort; link: Pn532Link }> {
  let output: (bytes: Uint8Array) => void = () => undefined;
  let writes = 0;
  const port = await openMockSerialPort({
    connect: (o) => { output = o; },
    receive: (bytes) => script(bytes, (...frames) => { for (const f of frames) output(f); }, ++writes),
  });
  const link = new Pn532Link(port.stream, { ackTimeoutMs: 30, responseTimeoutMs: 200, ...options });
  link.start();
  open.push({ port, link });
  return { port, link };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isPn532Error(error) ? error.code : String(error);
  }
}

afterEach(async () => {
  for (const { port, link } of open.splice(0)) {
    link.stop();
    await port.close();
  }
});

describe('Pn532Link: the ACK / response dialogue', () => {
  it('writes the command frame byte for byte and resolves the response data, whatever the chunking', async () => {
    const { port, link } = await scripted((_w, send) => {
      const both = Uint8Array.of(...ackFrame, ...firmwareAnswer);
      send(both.subarray(0, 3), both.subarray(3, 9), both.subarray(9));
    });
    await expect(link.command(0x02)).resolves.toEqual(Uint8Array.of(0x32, 0x01, 0x06, 0x07));
    expect(new Uint8Array(port.binding.recording)).toEqual(getFirmware);
  });

  it('resends after an ACK timeout and counts the retry', async () => {
    const { port, link } = await scripted((_w, send, n) => { if (n > 1) send(ackFrame, firmwareAnswer); });
    await expect(link.command(0x02)).resolves.toHaveLength(4);
    expect(link.counters).toMatchObject({ retries: 1, ackTimeouts: 1 });
    expect(new Uint8Array(port.binding.recording)).toEqual(Uint8Array.of(...getFirmware, ...getFirmware));
  });

  it('gives up with TS_ERR_PN532_NO_ACK after retriesMax resends, in bounded time', async () => {
    const { port, link } = await scripted(() => undefined, { retriesMax: 2, ackTimeoutMs: 30 });
    const started = performance.now();
    expect(await codeOf(link.command(0x02))).toBe('TS_ERR_PN532_NO_ACK');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(3 * 30 - 5);
    expect(elapsed).toBeLessThan(3 * 30 + 500); // margin for a loaded CI machine
    expect(port.binding.recording.length).toBe(3 * getFirmware.length);
  });

  it('resends when the chip NACKs the command', async () => {
    const { link } = await scripted((_w, send, n) => send(...(n === 1 ? [nackFrame] : [ackFrame, firmwareAnswer])));
    await expect(link.command(0x02)).resolves.toHaveLength(4);
    expect(link.counters.nacksReceived).toBe(1);
  });

  it('rejects with TS_ERR_PN532_SYNTAX when the chip answers its error frame', async () => {
    const { link } = await scripted((_w, send) => send(ackFrame, errorFrame));
    expect(await codeOf(link.command(0x7e))).toBe('TS_ERR_PN532_SYNTAX');
  });

  it('asks for a corrupted response again with a NACK', async () => {
    const bad = firmwareAnswer.slice();
    bad[bad.length - 2] = (bad[bad.length - 2] ?? 0) ^ 0x01;
    const { port, link } = await scripted((written, send) => {
      if (written[3] === 0xff && written[4] === 0x00) send(firmwareAnswer); // the host's NACK: resend the good copy
      else send(ackFrame, bad);
    });
    await expect(link.command(0x02)).resolves.toEqual(Uint8Array.of(0x32, 0x01, 0x06, 0x07));
    expect(link.counters.nacksSent).toBe(1);
    expect(new Uint8Array(port.binding.recording)).toEqual(Uint8Array.of(...getFirmware, ...nackFrame));
  });

  it('aborts an overdue command with an ACK and rejects TS_ERR_PN532_TIMEOUT after responseTimeoutMs', async () => {
    const { port, link } = await scripted((_w, send, n) => { if (n === 1) send(ackFrame); });
    const started = performance.now();
    expect(await codeOf(link.command(0x4a, Uint8Array.of(1, 0), { responseTimeoutMs: 80 }))).toBe('TS_ERR_PN532_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(80 + 500);
    expect(new Uint8Array(port.binding.recording).subarray(-ackFrame.length)).toEqual(ackFrame);
  });

  it('ignores a response that arrives before the ACK: it belongs to an aborted command', async () => {
    const { link } = await scripted((_w, send, n) => {
      if (n === 1) send(firmwareAnswer, ackFrame, encodeResponse(0x03, Uint8Array.of(0x32, 0x01, 0x06, 0x08)));
    });
    await expect(link.command(0x02)).resolves.toEqual(Uint8Array.of(0x32, 0x01, 0x06, 0x08));
    expect(link.counters.staleFrames).toBe(1);
  });

  it('gives up a stray header after frameIdleTimeoutMs and finds the response behind it', async () => {
    const { link } = await scripted((_w, send) => send(ackFrame, Uint8Array.of(0x00, 0xff, 0x80, 0x80), firmwareAnswer), { frameIdleTimeoutMs: 20 });
    await expect(link.command(0x02)).resolves.toHaveLength(4);
    expect(link.parser.counters.abandoned).toBe(1);
  });

  it('keeps one command in flight, queues the next in order and refuses past queueLengthMax', async () => {
    const seen: number[] = [];
    const { link } = await scripted((written, send) => {
      const code = written[6] ?? 0;
      seen.push(code);
      setTimeout(() => send(ackFrame, encodeResponse(code + 1)), 5);
    }, { queueLengthMax: 2 });
    const results = [link.command(0x02), link.command(0x04), link.command(0x06), link.command(0x08)];
    const codes = await Promise.all(results.map(codeOf));
    expect(codes).toEqual(['resolved', 'resolved', 'resolved', 'TS_ERR_PN532_BUSY']);
    expect(seen).toEqual([0x02, 0x04, 0x06]);
  });

  it('fails the command in flight with TS_ERR_PN532_CLOSED when the port closes', async () => {
    const { port, link } = await scripted((_w, send) => send(ackFrame));
    const pending = codeOf(link.command(0x4a, Uint8Array.of(1, 0), { responseTimeoutMs: 5000 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await port.close();
    expect(await pending).toBe('TS_ERR_PN532_CLOSED');
    expect(await codeOf(link.command(0x02))).toBe('TS_ERR_PN532_CLOSED');
  });

  it('validates its options', () => {
    expect(() => new Pn532Link(new PassThrough(), { ackTimeoutMs: -1 })).toThrow(/ackTimeoutMs/);
    expect(() => new Pn532Link(new PassThrough(), { queueLengthMax: 1.5 })).toThrow(/queueLengthMax/);
  });
});
