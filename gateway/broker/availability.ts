/**
 * Which devices are online (DESIGN §7: "retained availability topics with a
 * last will"). Two sources: this node's connects and disconnects, and every
 * `state` message — retained ones from persistence at start, live ones from
 * devices on any node sharing the broker state, and last wills. A device's
 * own `state` says `online`, `offline` or `out-of-service`; the view keeps
 * the last valid one beside the connection status.
 *
 * A state message can arrive after the disconnect of the connection that
 * sent it (with Redis, every publish makes a round trip through Redis, while
 * a disconnect is seen at once). Such a message, sent before the disconnect
 * this node saw, updates the state body but does not bring the device back
 * online: only a newer message or a new connection does.
 */
import { decodeMessage } from '../../protocol/index.ts';
import type { DeviceState } from '../../protocol/index.ts';

export interface DeviceAvailability {
  status: 'online' | 'offline';
  /** Epoch ms of the last change of status. */
  since: number;
  /** Epoch ms this node saw the device's connection end, until it connects again. */
  disconnectedAt?: number;
  /** The last valid `state` body the device (or its last will) published. */
  state?: DeviceState;
}

export class AvailabilityView {
  private readonly devices = new Map<string, DeviceAvailability>();
  /** State bodies that did not decode or named another device: counted, not kept. */
  invalidStates = 0;

  constructor(
    private readonly entriesMax: number,
    private readonly now: () => number,
  ) {}

  connected(deviceId: string): void {
    const entry = this.setStatus(deviceId, 'online');
    if (entry !== null) delete entry.disconnectedAt;
  }

  disconnected(deviceId: string): void {
    const entry = this.setStatus(deviceId, 'offline');
    if (entry !== null) entry.disconnectedAt = this.now();
  }

  /** A `state` message for `deviceId` (the topic's device). An empty body clears the retained state. */
  stateMessage(deviceId: string, payload: Buffer): void {
    if (payload.length === 0) {
      const entry = this.devices.get(deviceId);
      if (entry !== undefined) delete entry.state;
      return;
    }
    const decoded = decodeMessage('state', payload);
    if (!decoded.ok || decoded.value.deviceId !== deviceId) {
      this.invalidStates += 1;
      return;
    }
    const known = this.devices.get(deviceId);
    const stale = known?.disconnectedAt !== undefined && decoded.value.sentAt <= known.disconnectedAt;
    const entry = stale ? known : this.setStatus(deviceId, decoded.value.status === 'offline' ? 'offline' : 'online');
    if (entry !== null) entry.state = decoded.value;
  }

  /** A copy: the caller may keep it. */
  snapshot(): Map<string, DeviceAvailability> {
    const copy = new Map<string, DeviceAvailability>();
    for (const [id, a] of this.devices) copy.set(id, { ...a });
    return copy;
  }

  private setStatus(deviceId: string, status: DeviceAvailability['status']): DeviceAvailability | null {
    let entry = this.devices.get(deviceId);
    if (entry === undefined) {
      if (this.devices.size >= this.entriesMax) this.forgetOneOffline();
      if (this.devices.size >= this.entriesMax) return null;
      entry = { status, since: this.now() };
      this.devices.set(deviceId, entry);
    } else if (entry.status !== status) {
      entry.status = status;
      entry.since = this.now();
    }
    return entry;
  }

  /** Makes room by forgetting the oldest-inserted offline device; online ones are never dropped. */
  private forgetOneOffline(): void {
    for (const [id, a] of this.devices) {
      if (a.status === 'offline') {
        this.devices.delete(id);
        return;
      }
    }
  }
}
