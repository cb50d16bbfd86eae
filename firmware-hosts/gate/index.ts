/** The transit gate as a host kind: `tapsettle device gate --config FILE` (docs/devices/gate.md). */
import type { HostKind } from '../runtime/host-kind.ts';
import { GateProgram } from './program.ts';
import { GateSection } from './settings.ts';
import type { GateSettings } from './settings.ts';

export const gateKind: HostKind<GateSettings> = {
  kind: 'gate',
  section: GateSection,
  program: (ctx) => new GateProgram(ctx),
};

export { GateProgram } from './program.ts';
export type { LastTap } from './program.ts';
export { gateTable } from './machine-table.ts';
export type { GateStateName } from './machine-table.ts';
export { GateSection, gateDefaults, gateModes } from './settings.ts';
export type { GateSettings, GateMode } from './settings.ts';
export { keyPairFromSeed } from './signatures.ts';
