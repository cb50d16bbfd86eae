/**
 * The station file (YAML): what `tapsettle start` runs — its devices (id,
 * kind, role, the kind's device-file section and its simulated parts), its
 * phones (a name for each demo wallet), and the retained configs the station
 * places for its devices (catalogs, fare tables, deny lists; the keys are
 * filled in by the station). Validated strictly; every error names the key
 * (`devices.2.vending.slots.A1.relay: …`) and has the code TS_ERR_STATION_FILE.
 * The default one is stations/demo.yaml.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CatalogItem, DeviceId, DeviceKind, FareTable, WalletId, limits } from '../../protocol/index.ts';
import { hostKinds } from '../../firmware-hosts/kinds.ts';
import { PartsSection, describeIssue } from '../../firmware-hosts/runtime/device-file.ts';
import { StationError } from './errors.ts';

/** A station file is a few pages of YAML (the demo's is ~5 KB); anything bigger is a mistake. */
export const stationFileBytesMax = 256 * 1024;
/** Devices in one station: a real station has tens; larger fleets are `tapsettle sim fleet`'s business. */
export const stationDevicesMax = 64;
/** Phones in one station: the dashboard lists at most 50 (its phonesMax). */
export const stationPhonesMax = 50;

const PhoneName = z.string().min(1).max(32).regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a letter, then letters, digits, "_" or "-"');
const Choice = z.string().min(1).max(32).regex(/^[A-Za-z0-9*+_.-]+$/, 'letters, digits or * + _ . -');

const StationDevice = z.strictObject({
  id: DeviceId,
  kind: DeviceKind,
  /** For people: "entry gate", "snack machine". */
  role: z.string().min(1).max(40),
  /** What a tap buys when no choice is given: a vending slot, a kiosk product, a terminal article or amount in minor units. */
  defaultChoice: Choice.optional(),
  parts: z.unknown(),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) }).optional(),
  gate: z.unknown().optional(),
  vending: z.unknown().optional(),
  kiosk: z.unknown().optional(),
  pos: z.unknown().optional(),
});

const ConfigBody = z.strictObject({
  catalog: z.array(CatalogItem).max(limits.catalogItemsMax).optional(),
  fareTable: FareTable.optional(),
  denyList: z.array(WalletId).max(limits.denyListMax).optional(),
});
export type StationConfigBody = z.infer<typeof ConfigBody>;

const StationFileSchema = z.strictObject({
  version: z.literal(1),
  name: z.string().min(1).max(80),
  devices: z.array(StationDevice).min(1).max(stationDevicesMax),
  phones: z.array(z.strictObject({
    name: PhoneName,
    /** The demo wallet this phone carries (Ada, Ben, Cleo, Dev, Eve); default: its own name. */
    wallet: PhoneName.optional(),
  })).min(1).max(stationPhonesMax),
  /** Retained configs by device id; the station adds merchant, version and keys. */
  configs: z.record(DeviceId, ConfigBody).default({}),
});

export interface StationDeviceSpec {
  id: string;
  kind: DeviceKind;
  role: string;
  defaultChoice?: string;
  parts: PartsSection;
  /** The kind's device-file section as written (validated; defaults are filled in when the host parses it). */
  section: Record<string, unknown>;
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface StationFile {
  name: string;
  devices: StationDeviceSpec[];
  phones: { name: string; wallet: string }[];
  configs: Record<string, StationConfigBody>;
}

const bad = (key: string, message: string): never => {
  throw new StationError('TS_ERR_STATION_FILE', `${key}: ${message}`);
};

/** The first issue of a failed parse, under `prefix`: `devices.0.parts.relays.gate.pin: …`. */
function issueAt(prefix: string, error: z.ZodError): never {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].join('.');
  return bad(path, issue?.message ?? 'invalid');
}

/** Stands in for the admission key file the station writes, so a gate section validates before the key exists. */
const admissionKeyPlaceholder = 'station-generated.admission.json';

function checkDevice(raw: z.infer<typeof StationDevice>, i: number): StationDeviceSpec {
  const at = `devices.${i}`;
  const parts = PartsSection.safeParse(raw.parts ?? {});
  if (!parts.success) issueAt(`${at}.parts`, parts.error);
  const p = parts.data;
  if (p.board.backend !== 'sim' || (p.nfc && p.nfc.driver !== 'sim') || (p.codeReader && p.codeReader.driver !== 'sim')) {
    bad(`${at}.parts`, 'a simulated station runs simulated parts only: board { backend: sim }, nfc { driver: sim }, codeReader { driver: sim }');
  }
  for (const other of DeviceKind.options) {
    if (other !== raw.kind && raw[other] !== undefined) bad(`${at}.${other}`, `a ${raw.kind} takes a "${raw.kind}:" section, not "${other}:"`);
  }
  const section = (raw[raw.kind] ?? {}) as Record<string, unknown>;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) bad(`${at}.${raw.kind}`, 'expected a mapping');
  if (raw.kind === 'gate' && ('admissionKey' in section || 'admissionKeyFile' in section)) {
    bad(`${at}.gate.admissionKey`, 'the station generates each gate\'s admission key and keeps it in its data directory; leave it out');
  }
  const probe = raw.kind === 'gate' ? { ...section, admissionKeyFile: admissionKeyPlaceholder } : section;
  const parsed = hostKinds[raw.kind].section.safeParse(probe);
  if (!parsed.success) issueAt(`${at}.${raw.kind}`, parsed.error);
  return {
    id: raw.id, kind: raw.kind, role: raw.role, parts: p, section,
    ...(raw.defaultChoice !== undefined ? { defaultChoice: raw.defaultChoice } : {}),
    ...(raw.log ? { logLevel: raw.log.level } : {}),
  };
}

/** Validates a parsed YAML value as a station file. */
export function parseStationFile(raw: unknown, path: string): StationFile {
  const parsed = StationFileSchema.safeParse(raw);
  if (!parsed.success) throw new StationError('TS_ERR_STATION_FILE', `${path}: ${describeIssue(parsed.error)}`);
  const f = parsed.data;
  try {
    const devices = f.devices.map(checkDevice);
    const ids = new Set<string>();
    devices.forEach((d, i) => {
      if (ids.has(d.id)) bad(`devices.${i}.id`, `${d.id} is listed twice`);
      ids.add(d.id);
    });
    const names = new Set<string>();
    const phones = f.phones.map((p, i) => {
      if (names.has(p.name)) bad(`phones.${i}.name`, `${p.name} is listed twice`);
      names.add(p.name);
      return { name: p.name, wallet: p.wallet ?? p.name };
    });
    for (const id of Object.keys(f.configs)) if (!ids.has(id)) bad(`configs.${id}`, 'no device of that id in devices');
    return { name: f.name, devices, phones, configs: f.configs };
  } catch (err) {
    if (err instanceof StationError) throw new StationError(err.code, `${path}: ${err.message}`);
    throw err;
  }
}

/** Reads and validates a station file; a coded error names the file and the key. */
export function loadStationFile(path: string): StationFile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new StationError('TS_ERR_STATION_FILE', `cannot read station file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > stationFileBytesMax) throw new StationError('TS_ERR_STATION_FILE', `${path} is ${size} bytes; a station file may be at most ${stationFileBytesMax}`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'), { maxAliasCount: 100 });
  } catch (err) {
    throw new StationError('TS_ERR_STATION_FILE', `${path} is not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  return parseStationFile(raw, path);
}
