/**
 * Cuts a device off when the operator revokes or re-keys it while it is
 * connected. `tapsettle devices revoke` runs in another process and writes
 * the registry file; the broker checks the registry only at login. So every
 * `scanMs` this looks up each device connected to this node: one revoked,
 * gone from the registry, or logged in under another key version than the
 * registry's now is disconnected (its last will is published). Money
 * was never at risk meanwhile — the core refuses a revoked device's settle
 * (`device-not-active`) — but its connection, its state and its config
 * stream end within `scanMs`.
 */
import type { DeviceRecord } from './registry.ts';

export interface RevocationWatchOptions {
  /** The registry's current record of a device (gateway/devices/registry.ts). */
  record: (deviceId: string) => DeviceRecord | null;
  /** The devices with a connection on this node now, with the key version each logged in under (null: not known). */
  connected: () => Iterable<{ id: string; keyVersion: number | null }>;
  disconnect: (deviceId: string) => Promise<boolean>;
  /** How often; each scan costs one indexed read per connected device. */
  scanMs: number;
  onCut?: (deviceId: string, why: 'revoked' | 'unknown' | 're-keyed') => void;
  onError?: (err: unknown) => void;
}

/** Every 2 s: a revoked device is off within that, and 10,000 connected devices cost ~20 ms of reads per scan. */
export const revocationScanMsDefault = 2_000;

export function watchRevocations(o: RevocationWatchOptions): { scan(): Promise<string[]>; stop(): void } {
  const scan = async (): Promise<string[]> => {
    const cut: string[] = [];
    for (const { id, keyVersion } of [...o.connected()]) {
      const r = o.record(id);
      const why = r === null ? 'unknown' : r.status === 'revoked' ? 'revoked' : keyVersion !== null && keyVersion !== r.keyVersion ? 're-keyed' : null;
      if (why === null) continue;
      if (await o.disconnect(id)) {
        cut.push(id);
        o.onCut?.(id, why);
      }
    }
    return cut;
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    scan().catch((err: unknown) => o.onError?.(err)).finally(() => { busy = false; });
  }, o.scanMs);
  timer.unref();
  return { scan, stop: () => clearInterval(timer) };
}
