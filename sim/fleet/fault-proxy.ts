/**
 * A fault-injecting MQTT proxy on 127.0.0.1 between the simulated devices and
 * the gateway's broker. It splits each direction into MQTT packets (fixed
 * header + remaining length) and, for PUBLISH packets only, with seeded
 * probabilities:
 *
 * - drop: the packet is not forwarded; a QoS 1 publish is acknowledged to its
 *   sender by the proxy (a PUBACK), as if the next hop took it and lost it.
 *   The sender's session stays consistent, so recovery is the protocol's own:
 *   the device resends its pending entry after `resendAfterMs`, the core
 *   answers a resend from its journal.
 * - duplicate: forwarded twice, the second copy with the DUP flag.
 * - delay: held back for delayMs (later packets overtake it: a reorder).
 *
 * Nothing in the gateway or the devices knows the proxy is there.
 */
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { RandomSource } from '../../firmware-hosts/runtime/backoff.ts';
import type { MessageFaults } from './scenario.ts';

/** One MQTT packet larger than this ends the connection: the broker's own payload limit is far below it. */
export const proxyPacketBytesMax = 1024 * 1024;

export interface FaultCounts {
  forwarded: number;
  dropped: number;
  duplicated: number;
  delayed: number;
}

const packetTypePublish = 3;

/** Splits a byte stream into whole MQTT packets; bounded. */
class PacketSplitter {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] | 'too-large' {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (; i < 5; i++) {
        if (i >= this.buf.length) return out;
        const byte = this.buf[i]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) break;
      }
      if (i === 5 || length > proxyPacketBytesMax) return 'too-large';
      const total = i + 1 + length;
      if (this.buf.length < total) return out;
      out.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
  }
}

/** The packet id of a QoS 1/2 PUBLISH (after the topic), or null for QoS 0. */
function publishPacketId(packet: Buffer): number | null {
  const qos = (packet[0]! >> 1) & 0x03;
  if (qos === 0) return null;
  let i = 1;
  while ((packet[i]! & 0x80) !== 0) i++;
  i += 1;
  const topicLength = packet.readUInt16BE(i);
  return packet.readUInt16BE(i + 2 + topicLength);
}

const puback = (id: number): Buffer => Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);

export class FaultProxy {
  readonly counts: FaultCounts = { forwarded: 0, dropped: 0, duplicated: 0, delayed: 0 };
  private faults: MessageFaults;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly server: Server, private upstreamPort: number, faults: MessageFaults, private readonly random: RandomSource) {
    this.faults = faults;
  }

  /** Listens on 127.0.0.1 (an ephemeral port unless given) and forwards to the broker on `upstreamPort`. */
  static async start(options: { upstreamPort: number; faults: MessageFaults; random: RandomSource; port?: number }): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, options.upstreamPort, options.faults, options.random);
    server.on('connection', (s) => proxy.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  setFaults(faults: MessageFaults): void {
    this.faults = faults;
  }

  private accept(device: Socket): void {
    const broker = createConnection({ host: '127.0.0.1', port: this.upstreamPort });
    this.sockets.add(device);
    this.sockets.add(broker);
    const end = () => {
      device.destroy();
      broker.destroy();
      this.sockets.delete(device);
      this.sockets.delete(broker);
    };
    for (const s of [device, broker]) {
      s.on('error', end);
      s.on('close', end);
    }
    this.pipe(device, broker, end);
    this.pipe(broker, device, end);
  }

  /** Forwards packets from `from` to `to`, applying the faults to PUBLISH packets; acks a dropped QoS 1 publish back to `from`. */
  private pipe(from: Socket, to: Socket, end: () => void): void {
    const splitter = new PacketSplitter();
    from.on('data', (chunk: Buffer) => {
      const packets = splitter.push(chunk);
      if (packets === 'too-large') return end();
      for (const p of packets) this.forward(p, from, to);
    });
  }

  private forward(packet: Buffer, from: Socket, to: Socket): void {
    const write = (b: Buffer) => {
      if (!to.destroyed) to.write(b);
    };
    if (packet[0]! >> 4 !== packetTypePublish) return write(packet);
    const f = this.faults;
    if (f.drop > 0 && this.random() < f.drop) {
      this.counts.dropped += 1;
      const id = publishPacketId(packet);
      if (id !== null && !from.destroyed) from.write(puback(id));
      return;
    }
    this.counts.forwarded += 1;
    const send = () => {
      write(packet);
      if (f.duplicate > 0 && this.random() < f.duplicate) {
        this.counts.duplicated += 1;
        const copy = Buffer.from(packet);
        copy[0] = copy[0]! | 0x08;
        write(copy);
      }
    };
    if (f.delay > 0 && this.random() < f.delay) {
      this.counts.delayed += 1;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        send();
      }, f.delayMs);
      this.timers.add(timer);
      return;
    }
    send();
  }

  /** Cuts every connection (the devices see the link drop) and keeps listening. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
