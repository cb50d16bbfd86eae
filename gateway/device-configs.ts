/**
 * Retained per-device config (catalog, fare table, deny list, public keys),
 * versioned. Operators put one file per device in <data>/device-configs/
 * (`tapsettle config push FILE` validates and places it); the gateway
 * publishes each file retained on `tapsettle/v1/dev/{d}/config` when its
 * version is newer than the one already retained, at start and on every scan
 * (`scanMs`). A device applies only a version newer than the one it runs.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { limits, parseMessage, topics } from '../protocol/index.ts';
import type { DeviceConfig } from '../protocol/index.ts';

export class DeviceConfigError extends Error {
  constructor(readonly code: 'TS_ERR_DEVICE_CONFIG', message: string) {
    super(message);
  }
}

/** Files read per scan: a station has tens of devices; a fleet a few thousand. */
export const deviceConfigFilesMax = 10_000;

export function parseDeviceConfigFile(path: string): DeviceConfig {
  const size = statSync(path).size;
  if (size > limits.configBytesMax) throw new DeviceConfigError('TS_ERR_DEVICE_CONFIG', `${path} is ${size} bytes; a device config may be at most ${limits.configBytesMax}`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'), { maxAliasCount: 100 });
  } catch (err) {
    throw new DeviceConfigError('TS_ERR_DEVICE_CONFIG', `${path} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  const parsed = parseMessage('config', raw);
  if (!parsed.ok) throw new DeviceConfigError('TS_ERR_DEVICE_CONFIG', `${path}: ${parsed.reason}: ${parsed.message}`);
  return parsed.value;
}

/** Validates a config and stores it as <dir>/<deviceId>.json (atomically), refusing a version not above the stored one. */
export function placeDeviceConfig(dir: string, config: DeviceConfig): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${config.deviceId}.json`);
  let stored: DeviceConfig | null;
  try {
    stored = parseDeviceConfigFile(path);
  } catch {
    stored = null; // none yet, or unreadable: the new one replaces it
  }
  if (stored && stored.version >= config.version) {
    throw new DeviceConfigError('TS_ERR_DEVICE_CONFIG', `${config.deviceId} already has config version ${stored.version}; push a higher version`);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

export interface ConfigBroker {
  publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
  retained(topic: string): Promise<Buffer | null>;
}

export interface ConfigLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Publishes every config file whose version is newer than the retained one; returns how many it published. */
export async function publishDeviceConfigs(dir: string, broker: ConfigBroker, log: ConfigLogger): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') || n.endsWith('.yaml') || n.endsWith('.yml')).slice(0, deviceConfigFilesMax);
  } catch {
    return 0;
  }
  let published = 0;
  for (const name of names) {
    try {
      const config = parseDeviceConfigFile(join(dir, name));
      const retained = await broker.retained(topics.config(config.deviceId));
      const current = retained ? parseMessage('config', safeJson(retained)) : null;
      if (current?.ok && current.value.version >= config.version) continue;
      await broker.publish(topics.config(config.deviceId), JSON.stringify(config), { qos: 1, retain: true });
      log.info({ deviceId: config.deviceId, version: config.version }, 'device config published');
      published += 1;
    } catch (err) {
      log.warn({ file: name, err: (err as Error).message }, 'device config not published');
    }
  }
  return published;
}

function safeJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return null;
  }
}
