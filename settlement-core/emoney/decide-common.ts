/** What issuance and deposit share: the replay check, the write set, the issuer. */
import type { SigningKeyPair } from '../../protocol/index.ts';
import { BatchState } from '../engine/batch-state.ts';
import type { Account, EmoneyRequestRecord } from '../model.ts';
import type { EmoneyWrites, LedgerTx, WriteSet } from '../store/ledger-store.ts';
import type { EmoneyReply } from './wire.ts';

/** The issuer key e-money is signed with: the ticket issuer's (DESIGN §5, one issuer key for tickets and e-money). */
export interface EmoneyIssuer {
  keyId: string;
  pair: SigningKeyPair;
}

/** The stored answer when the request id was decided before: the same content replays it, other content is a mismatch. */
export async function storedReply<A>(tx: LedgerTx, requestId: string, fingerprint: string): Promise<EmoneyReply<A> | null> {
  const stored = await tx.getEmoneyRequest(requestId);
  if (stored === null) return null;
  if (stored.fingerprint !== fingerprint) return { kind: 'mismatch' };
  return { kind: 'answer', answer: JSON.parse(stored.answerJson) as A, json: stored.answerJson, replay: true };
}

/** A batch over just these accounts, for one e-money movement (as an operator's funding is). */
export const movementBatch = (accounts: readonly Account[], now: number): BatchState =>
  new BatchState({ accounts: new Map(accounts.map((a) => [a.id, a])), devices: new Map(), wallets: new Map(), entries: new Map(), countersUsed: new Set() }, now);

/** Writes the decision (and the movement, tokens minted or spent, if any) in this transaction, and returns the answer. */
export async function record<A>(
  tx: LedgerTx, request: Omit<EmoneyRequestRecord, 'answerJson'>, answer: A, movement: { batch: BatchState; mints?: EmoneyWrites['mints']; spends?: EmoneyWrites['spends'] } | null,
): Promise<EmoneyReply<A>> {
  const json = JSON.stringify(answer);
  const base: WriteSet = movement ? movement.batch.finish() : { journalInserts: [], journalUpdates: [], transfers: [], balances: [] };
  await tx.apply({ ...base, emoney: { requests: [{ ...request, answerJson: json }], mints: movement?.mints ?? [], spends: movement?.spends ?? [] } });
  return { kind: 'answer', answer, json, replay: false };
}
