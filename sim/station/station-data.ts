/**
 * The station's own files under <data>/station/: each gate's admission
 * signing key (generated on the first run, owner-only), the phones' counters
 * and holdings, the device hosts' data directories. Small files are written
 * whole (temporary file, fsync, rename, directory fsync), owner-only.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { generateSigningKeyPair } from '../../protocol/index.ts';
import type { SigningKeyPair } from '../../protocol/index.ts';
import { keyPairFromSeed } from '../../firmware-hosts/gate/index.ts';
import { StationError } from './errors.ts';

/** A key file holds ~200 bytes; a holdings file at most the applet's lists (~32 tickets, ~64 tokens, one admission). */
export const stationDataFileBytesMax = 256 * 1024;

export function stationPaths(dataDir: string) {
  // Absolute: a host resolves a path in its section against its device file (station/devices/), so a relative data dir (npm start's `data`) would be taken twice.
  const root = join(resolve(dataDir), 'station');
  return {
    root,
    keys: join(root, 'keys'),
    phones: join(root, 'phones'),
    devices: join(root, 'devices'),
    admissionKey: (gateId: string) => join(root, 'keys', `${gateId}.admission.json`),
    counter: (phone: string) => join(root, 'phones', `${phone}.counter.json`),
    holdings: (phone: string) => join(root, 'phones', `${phone}.holdings.json`),
    deviceData: (deviceId: string) => join(root, 'devices', deviceId),
    /** Where the device file would live: paths inside a host's section are relative to it. */
    deviceFile: (deviceId: string) => join(root, 'devices', `${deviceId}.yaml`),
  };
}
export type StationPaths = ReturnType<typeof stationPaths>;

/** Writes `text` whole and owner-only: temporary file, fsync, rename, directory fsync. */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Reads a station data file as JSON, bounded; null when there is none yet. */
export function readStationJson(path: string): unknown {
  if (!existsSync(path)) return null;
  const size = statSync(path).size;
  if (size > stationDataFileBytesMax) throw new StationError('TS_ERR_STATION_DATA', `${path} is ${size} bytes; a station data file is at most ${stationDataFileBytesMax}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new StationError('TS_ERR_STATION_DATA', `${path} is not JSON: ${(err as Error).message}`);
  }
}

const KeyFile = z.strictObject({ keyId: z.string().min(1).max(64), publicKey: z.string().length(43), privateKey: z.string().length(43) });

/**
 * The gate's admission signing key: read from the data directory, or
 * generated and written there (owner-only) on the first run. A key file
 * whose public half does not match its private half is refused: exits would
 * then check admissions against the wrong key.
 */
export function gateAdmissionKey(paths: StationPaths, gateId: string): SigningKeyPair {
  const path = paths.admissionKey(gateId);
  const raw = readStationJson(path);
  if (raw === null) {
    const pair = generateSigningKeyPair(`${gateId}-${Date.now().toString(36)}`);
    writePrivateFile(path, `${JSON.stringify(pair, null, 2)}\n`);
    return pair;
  }
  const parsed = KeyFile.safeParse(raw);
  if (!parsed.success) throw new StationError('TS_ERR_STATION_DATA', `${path}: not a gate key file (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''}); remove it to make a new key`);
  let derived: SigningKeyPair;
  try {
    derived = keyPairFromSeed(parsed.data.keyId, parsed.data.privateKey);
  } catch (err) {
    throw new StationError('TS_ERR_STATION_DATA', `${path}: privateKey: ${(err as Error).message}`);
  }
  if (derived.publicKey !== parsed.data.publicKey) throw new StationError('TS_ERR_STATION_DATA', `${path}: publicKey does not belong to privateKey; remove the file to make a new key`);
  return parsed.data;
}
