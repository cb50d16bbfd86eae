/**
 * The purchase terminal's host kind (claims 8, 9, 12): its device-file
 * section and its program. `tapsettle device pos --config FILE` runs it.
 */
import type { HostKind } from '../runtime/host-kind.ts';
import { PosProgram } from './pos-host.ts';
import { PosSection } from './settings.ts';
import type { PosSettings } from './settings.ts';

export const posKind: HostKind<PosSettings> = {
  kind: 'pos',
  section: PosSection,
  program: (ctx) => new PosProgram(ctx),
};

export { PosProgram, posTable, displayTexts } from './pos-host.ts';
export type { LastSale, PosState } from './pos-host.ts';
export { PosSection, posDefaults } from './settings.ts';
export type { PosSettings } from './settings.ts';
export { PosError, posErrorCodes } from './errors.ts';
