/**
 * Hands what devices publish to the gateway's handlers, by channel. Fed from
 * Aedes' `publish` event, so it sees only publications made on this node (a
 * cluster's other nodes settle their own devices' requests).
 */
import type { AedesPublishPacket, Client } from 'aedes';
import type { Logger } from 'pino';
import { parseDeviceTopic } from '../../protocol/index.ts';
import type { Channel } from '../../protocol/index.ts';

export type MessageHandler = (deviceId: string, payload: Buffer) => void;

export const toBuffer = (p: Buffer | string): Buffer => (typeof p === 'string' ? Buffer.from(p) : p);

export class MessageRouter {
  private readonly handlers = new Map<Channel, Set<MessageHandler>>();

  constructor(private readonly log: Logger) {}

  add(channel: Channel, handler: MessageHandler): () => void {
    let set = this.handlers.get(channel);
    if (set === undefined) this.handlers.set(channel, (set = new Set()));
    // Wrapped, so the same function added twice is two subscriptions, each removable on its own.
    const entry: MessageHandler = (d, p) => handler(d, p);
    set.add(entry);
    return () => void set.delete(entry);
  }

  /** For Aedes' `publish` event. `client === null` is the gateway's own publication: not a device's message. */
  dispatch(packet: AedesPublishPacket, client: Client | null): void {
    if (client === null) return;
    const parsed = parseDeviceTopic(packet.topic);
    if (parsed === null) return;
    const set = this.handlers.get(parsed.channel);
    if (set === undefined || set.size === 0) return;
    // The ACL let this client publish here only if the topic is its own; anything else is a bug to stop on.
    if (parsed.deviceId !== client.id) throw new Error(`ACL invariant broken: ${client.id} published on ${packet.topic}`);
    const payload = toBuffer(packet.payload);
    for (const handler of set) {
      try {
        handler(parsed.deviceId, payload);
      } catch (err) {
        // A handler's bug must not reach Aedes' publish pipeline (it would take the process down).
        this.log.error({ err, channel: parsed.channel, deviceId: parsed.deviceId }, 'message handler threw');
      }
    }
  }
}
