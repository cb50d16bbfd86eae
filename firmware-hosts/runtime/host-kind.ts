/**
 * What each device kind contributes to the runtime: the schema of its own
 * section of the device file, and its program. firmware-hosts/kinds.ts lists
 * them; `tapsettle device <kind>` and the station look a kind up there.
 */
import type { z } from 'zod';
import type { DeviceKind } from '../../protocol/index.ts';
import { deviceFileSchema, describeIssue, readYamlFile } from './device-file.ts';
import { RuntimeError } from './errors.ts';
import type { DeviceFile, HostContext, HostProgram } from './host.ts';

export interface HostKind<C> {
  readonly kind: DeviceKind;
  /** The section named after the kind in the device file. */
  readonly section: z.ZodType<C>;
  program(ctx: HostContext<C>): HostProgram;
}

/** Validates a parsed YAML value as a device file of this kind; errors name the key. */
export function parseDeviceFile<C>(kind: HostKind<C>, raw: unknown, path: string): DeviceFile<C> {
  const parsed = deviceFileSchema(kind.kind, kind.section).safeParse(raw);
  if (!parsed.success) throw new RuntimeError('TS_ERR_DEVICE_FILE', `${path}: ${describeIssue(parsed.error)}`);
  const data = parsed.data as Record<string, unknown>;
  const device = data.device as { kind: DeviceKind };
  if (device.kind !== kind.kind) throw new RuntimeError('TS_ERR_DEVICE_FILE', `${path}: device.kind: the file is for a ${device.kind}, not a ${kind.kind}`);
  const { [kind.kind]: section, ...common } = data;
  return { ...(common as Omit<DeviceFile<C>, 'section' | 'path'>), section: section as C, path };
}

export function loadDeviceFile<C>(kind: HostKind<C>, path: string): DeviceFile<C> {
  return parseDeviceFile(kind, readYamlFile(path), path);
}
