/**
 * What both crash tests (one SQLite file, sharded servers) check after
 * recovery: every answered request is in the journal with the answer bytes
 * the device got, withdrew exactly once if approved (never if declined), and
 * reached a final state.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { LedgerStore } from '../../settlement-core/index.ts';
import { requestIdFor } from './crash-worker.ts';

export interface Answer { status: string; hash: string }

export async function expectAnsweredOnce(store: LedgerStore, device: string, answered: ReadonlyMap<number, Answer>): Promise<void> {
  const withdrawals = new Map<string, number>();
  for (let after = 0; ;) {
    const page = await store.scanTransfers(after, 10_000);
    for (const tr of page) if (tr.kind === 'withdraw') withdrawals.set(tr.journalRequestId!, (withdrawals.get(tr.journalRequestId!) ?? 0) + 1);
    if (page.length < 10_000) break;
    after = page[page.length - 1]!.id;
  }
  for (const [i, a] of answered) {
    const e = await store.getJournalEntry({ deviceId: device, requestId: requestIdFor(i) });
    expect(e, `answered request ${i} is in the journal`).not.toBeNull();
    expect(createHash('sha256').update(e!.resultJson).digest('hex')).toBe(a.hash);
    expect(withdrawals.get(requestIdFor(i)) ?? 0).toBe(a.status === 'approved' ? 1 : 0);
    expect(['declined', 'deposited', 'reversed', 'cancelled']).toContain(e!.state);
  }
}
