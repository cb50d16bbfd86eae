/**
 * The applied device config: a retained DeviceConfig is applied only if its
 * version is higher than the one applied, kept whole on disk (durable-file.ts)
 * so a reboot restores it (the broker's retained copy has the same version and
 * would be ignored), and its version recorded in the outbox log.
 */
import { existsSync, readFileSync } from 'node:fs';
import { decodeMessage } from '../../protocol/index.ts';
import type { DeviceConfig } from '../../protocol/index.ts';
import { writeFileDurable } from './durable-file.ts';
import type { Outbox } from './outbox.ts';

export class ConfigStore {
  current: DeviceConfig | null = null;
  private readonly path: string;
  private readonly outbox: Outbox;

  constructor(path: string, outbox: Outbox) {
    this.path = path;
    this.outbox = outbox;
    if (!existsSync(path)) return;
    const decoded = decodeMessage('config', readFileSync(path));
    if (!decoded.ok) return;
    this.current = decoded.value;
    // The file is written before the version is recorded; a power cut between the two leaves the file ahead.
    if (decoded.value.version > outbox.configVersion) outbox.setConfigVersion(decoded.value.version);
  }

  /** Applies a config from the broker if it is valid, for this device and newer; returns it, or null when ignored. */
  offer(payload: Buffer, deviceId: string): DeviceConfig | null {
    const decoded = decodeMessage('config', payload);
    if (!decoded.ok || decoded.value.deviceId !== deviceId || decoded.value.version <= this.outbox.configVersion) return null;
    writeFileDurable(this.path, payload.toString('utf8'));
    this.outbox.setConfigVersion(decoded.value.version);
    this.current = decoded.value;
    return decoded.value;
  }
}
