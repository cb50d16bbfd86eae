/**
 * The device file: one YAML file per device (issue 5), validated strictly,
 * every error naming the bad key. It says who the device is, where its
 * gateway is, where its outbox lives, which parts it has and whether each is
 * real or simulated, and (in the section named after its kind) how the host
 * behaves. Catalog, fare table, deny list and keys are not here: they come
 * from the gateway as the retained, versioned config.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DeviceId, DeviceKind } from '../../protocol/index.ts';
import { RuntimeError } from './errors.ts';

/** A device file is a page of YAML; anything bigger is a mistake. */
export const deviceFileBytesMax = 64 * 1024;

const PartName = z.string().min(1).max(32).regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');
const Pin = z.number().int().min(0).max(127);
const Ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const BoardSection = z.discriminatedUnion('backend', [
  z.strictObject({ backend: z.literal('sim') }),
  z.strictObject({ backend: z.literal('firmata'), path: z.string().min(1).max(256), baudRate: z.number().int().min(1200).max(1_000_000).optional() }),
  z.strictObject({ backend: z.literal('gpiod'), chip: z.string().min(1).max(256).optional() }),
]);

export const NfcSection = z.discriminatedUnion('driver', [
  z.strictObject({ driver: z.literal('sim') }),
  z.strictObject({ driver: z.literal('pn532-uart'), path: z.string().min(1).max(256), baudRate: z.number().int().min(9600).max(1_000_000).optional() }),
]);

export const CodeReaderSection = z.discriminatedUnion('driver', [
  z.strictObject({ driver: z.literal('sim') }),
  z.strictObject({ driver: z.literal('hid'), vendorId: z.number().int().min(0).max(0xffff), productId: z.number().int().min(0).max(0xffff) }),
]);

export const PartsSection = z.strictObject({
  board: BoardSection.default({ backend: 'sim' }),
  nfc: NfcSection.optional(),
  codeReader: CodeReaderSection.optional(),
  relays: z.record(PartName, z.strictObject({
    pin: Pin,
    activeLevel: z.enum(['high', 'low']).optional(),
    pulseMsMax: Ms(1, 60_000).optional(),
  })).default({}),
  inputs: z.record(PartName, z.strictObject({
    pin: Pin,
    kind: z.enum(['drop-sensor', 'passage-sensor', 'door-switch', 'tamper-switch']),
    activeLevel: z.enum(['high', 'low']).optional(),
    pullUp: z.boolean().optional(),
    debounceMs: Ms(1, 1000).optional(),
  })).default({}),
});
export type PartsSection = z.infer<typeof PartsSection>;

export const CommonSections = {
  device: z.strictObject({
    id: DeviceId,
    kind: DeviceKind,
    /** The device key (base64url), or a file holding it (owner-only, outside the YAML). */
    secret: z.string().min(22).max(128).optional(),
    secretFile: z.string().min(1).max(1024).optional(),
  }).refine((d) => (d.secret === undefined) !== (d.secretFile === undefined), 'give exactly one of secret and secretFile'),
  gateway: z.strictObject({
    url: z.string().regex(/^mqtts?:\/\/[^\s]+$/, 'expected mqtt://host:port or mqtts://host:port'),
    tls: z.strictObject({ caFile: z.string().max(1024).optional(), certFile: z.string().max(1024).optional(), keyFile: z.string().max(1024).optional() }).optional(),
  }),
  /** Outbox, seq and applied config; must survive reboots (not tmpfs). */
  dataDir: z.string().min(1).max(1024),
  /** Local health and metrics endpoint; absent = off. */
  http: z.strictObject({ host: z.string().min(1).max(255).default('127.0.0.1'), port: z.number().int().min(0).max(65535) }).optional(),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({ level: 'info' }),
  link: z.strictObject({
    answerTimeoutMs: Ms(1, 3_600_000).optional(),
    resendAfterMs: Ms(100, 3_600_000).optional(),
    connectTimeoutMs: Ms(100, 600_000).optional(),
    keepaliveSec: z.number().int().min(1).max(3600).optional(),
  }).default({}),
  outbox: z.strictObject({ entriesMax: z.number().int().min(1).max(1_000_000).optional(), bytesMax: z.number().int().min(65_536).max(1 << 30).optional() }).default({}),
  parts: PartsSection.default({ board: { backend: 'sim' }, relays: {}, inputs: {} }),
};

/** Builds the schema of a device file: the common sections plus the host's own section, named after its kind. */
export function deviceFileSchema<K extends string, S extends z.ZodType>(kind: K, section: S) {
  return z.strictObject({ ...CommonSections, [kind]: section } as typeof CommonSections & Record<K, S>);
}

/** Describes the first problem of a failed parse as `key.path: message`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return `${path === '' ? '(top level)' : path}: ${issue.message}`;
}

/** Reads a YAML file into a plain value, bounded, with a coded error naming the file. */
export function readYamlFile(path: string): unknown {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new RuntimeError('TS_ERR_DEVICE_FILE', `cannot read device file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > deviceFileBytesMax) throw new RuntimeError('TS_ERR_DEVICE_FILE', `${path} is ${size} bytes; a device file may be at most ${deviceFileBytesMax}`);
  try {
    return parseYaml(readFileSync(path, 'utf8'), { maxAliasCount: 50 });
  } catch (err) {
    throw new RuntimeError('TS_ERR_DEVICE_FILE', `${path} is not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
}

/** Paths in a device file are relative to the file. */
export const relativeTo = (file: string, path: string): string => (isAbsolute(path) ? path : resolve(dirname(file), path));

/** The device key from `secret` or `secretFile`. */
export function deviceSecret(device: { secret?: string | undefined; secretFile?: string | undefined }, file: string): string {
  if (device.secret !== undefined) return device.secret;
  const path = relativeTo(file, device.secretFile!);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new RuntimeError('TS_ERR_DEVICE_FILE', `device.secretFile: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? ''}`);
  }
}
