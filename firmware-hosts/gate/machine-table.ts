/**
 * The gate's states (docs/devices/gate.md has them as a table). Every tap
 * runs idle → reading → checking → [settling →] open | refusing → idle; a
 * fault (no config, no fare table, outbox full, unreadable state file) holds
 * the gate out of service, closed.
 */
import type { MachineTable } from '../runtime/machine.ts';

export type GateStateName = 'starting' | 'idle' | 'reading' | 'checking' | 'settling' | 'open' | 'refusing' | 'out-of-service' | 'stopped';

export const gateTable: MachineTable<GateStateName> = {
  starting: ['idle', 'out-of-service', 'stopped'],
  idle: ['reading', 'out-of-service', 'stopped'],
  reading: ['checking', 'refusing'],
  checking: ['settling', 'open', 'refusing'],
  settling: ['open', 'refusing'],
  open: ['idle'],
  refusing: ['idle'],
  'out-of-service': ['idle', 'stopped'],
  stopped: [],
};
