/**
 * Bounds what a client can make the broker buffer. The MQTT parser Aedes uses
 * keeps a packet's bytes until the whole packet has arrived, whatever length
 * its header announces (up to 256 MB). This guard reads only the fixed
 * headers of the byte stream — type byte, remaining length — and skips the
 * bodies without copying, so it knows a packet is too big from its first
 * bytes and the connection is cut before the body is read.
 */
export type FrameVerdict = 'ok' | 'oversized' | 'malformed';

/** The remaining length is at most 4 bytes of 7 bits (MQTT 3.1.1 §2.2.3). */
const lengthBytesMax = 4;

export class MqttFrameGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  /** @param packetBytesMax largest remaining length (variable header + payload) allowed */
  constructor(private readonly packetBytesMax: number) {}

  /** Feeds the next chunk of the stream. Once it returns other than 'ok' the stream must be closed. */
  scan(chunk: Uint8Array): FrameVerdict {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        i += n;
        this.bodyLeft -= n;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      if (this.state === 'type') {
        i += 1;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      const b = chunk[i]!;
      i += 1;
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes += 1;
      if (this.length > this.packetBytesMax) return 'oversized';
      if ((b & 0x80) !== 0) {
        if (this.lengthBytes === lengthBytesMax) return 'malformed';
        continue;
      }
      this.bodyLeft = this.length;
      this.state = this.bodyLeft === 0 ? 'type' : 'body';
    }
    return 'ok';
  }
}
