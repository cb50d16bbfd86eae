/** The vending machine as a host kind: `tapsettle device vending --config FILE`. */
import type { HostKind } from '../runtime/host-kind.ts';
import { VendingProgram } from './program.ts';
import { VendingSection } from './settings.ts';
import type { VendingSettings } from './settings.ts';

export const vendingKind: HostKind<VendingSettings> = {
  kind: 'vending',
  section: VendingSection,
  program: (ctx) => new VendingProgram(ctx),
};

export { VendingProgram, vendingTable } from './program.ts';
export type { VendingState, LastSale } from './program.ts';
export { VendingSection, vendingDefaults } from './settings.ts';
export type { VendingSettings } from './settings.ts';
