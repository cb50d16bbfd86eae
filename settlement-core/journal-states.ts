/**
 * The journal entry state machine (DESIGN §6). States only move forward;
 * every transition is checked here and, by the store, against the state
 * on disk.
 *
 *   received ──► declined                                   (final)
 *       │
 *       └────► withdrawn ──► deposited                      (final)
 *                  │  ├────► deferred ──► deposited
 *                  │  │          └──────► cancelled         (final)
 *                  │  ├────► cancelled
 *                  │  └────► reversed                       (final)
 *                  (received ──► deferred when the article has a cooling-off period and no outcome is awaited)
 */
import { invariant } from './errors.ts';
import type { JournalState } from './model.ts';

const transitions: Readonly<Record<JournalState, readonly JournalState[]>> = {
  received: ['declined', 'withdrawn', 'deferred'],
  withdrawn: ['deposited', 'deferred', 'cancelled', 'reversed'],
  deferred: ['deposited', 'cancelled'],
  declined: [],
  deposited: [],
  cancelled: [],
  reversed: [],
};

export const finalStates: ReadonlySet<JournalState> = new Set(['declined', 'deposited', 'cancelled', 'reversed']);
/** States in which the payer's money sits in clearing. */
export const inClearingStates: ReadonlySet<JournalState> = new Set(['withdrawn', 'deferred']);

export function canTransition(from: JournalState, to: JournalState): boolean {
  return transitions[from].includes(to);
}

export function assertTransition(from: JournalState, to: JournalState): void {
  invariant(canTransition(from, to), () => `journal state may not move ${from} → ${to}`);
}
