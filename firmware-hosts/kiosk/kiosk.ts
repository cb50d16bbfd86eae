/**
 * The ticket kiosk as a device kind (issue 5, claims 15–16): its section of
 * the device file and its program. `tapsettle device kiosk --config FILE`.
 */
import type { HostKind } from '../runtime/host-kind.ts';
import { KioskProgram } from './program.ts';
import { KioskSection } from './settings.ts';
import type { KioskSettings } from './settings.ts';

export const kioskKind: HostKind<KioskSettings> = {
  kind: 'kiosk',
  section: KioskSection,
  program: (ctx) => new KioskProgram(ctx),
};

export { KioskProgram, kioskStates, kioskTable } from './program.ts';
export type { ChooseResult, KioskOutcome, KioskState } from './program.ts';
export { KioskSection, kioskDefaults } from './settings.ts';
export type { KioskSettings } from './settings.ts';
