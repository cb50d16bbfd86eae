/**
 * Claim 35: deposit. The signatures are checked before the transaction
 * (Ed25519 is ~115 µs a token; the single writer should not wait on it);
 * inside it, against the ledger's record: the token was minted here, the
 * depositing wallet is its holder, it is unspent. Then, in one transaction:
 * every token marked spent, the float debited, the holder's account credited,
 * the answer kept. All or nothing: one bad token refuses the whole deposit.
 */
import type { EmoneyToken } from '../../protocol/index.ts';
import { invariant } from '../errors.ts';
import type { Wallet } from '../model.ts';
import type { LedgerTx } from '../store/ledger-store.ts';
import { movementBatch, record, storedReply } from './decide-common.ts';
import type { EmoneyIssuer } from './decide-common.ts';
import { emoneyFingerprint, sameToken } from './wire.ts';
import type { EmoneyDepositAnswer, EmoneyDepositBody, EmoneyReason, EmoneyReply } from './wire.ts';

export const depositReference = (requestId: string): string => `emoney-deposit:${requestId}`;

/** The first reason to refuse, checked token by token in the order sent, or null. */
function refusal(wallet: Wallet, tokens: readonly EmoneyToken[], signed: readonly boolean[], records: Map<string, { token: EmoneyToken; spentAt: number | null }>): [EmoneyReason, string | null] | null {
  const seen = new Set<string>();
  for (const [i, t] of tokens.entries()) {
    if (seen.has(t.serial)) return ['duplicate-token', t.serial];
    seen.add(t.serial);
    if (!signed[i]) return ['bad-signature', t.serial];
    const r = records.get(t.serial);
    if (!r || !sameToken(r.token, t)) return ['unknown-token', t.serial];
    if (t.holder !== wallet.id) return ['wrong-holder', t.serial];
    if (r.spentAt !== null) return ['already-spent', t.serial];
  }
  const currencies = new Set(tokens.map((t) => t.amount.currency));
  if (currencies.size > 1) return ['currency-mismatch', null];
  return null;
}

export async function decideDeposit(
  tx: LedgerTx, wallet: Wallet, body: EmoneyDepositBody, signed: readonly boolean[], issuer: EmoneyIssuer | null, now: number,
): Promise<EmoneyReply<EmoneyDepositAnswer>> {
  const fingerprint = emoneyFingerprint(wallet.id, { kind: 'deposit', value: body });
  const stored = await storedReply<EmoneyDepositAnswer>(tx, body.requestId, fingerprint);
  if (stored) return stored;
  const request = { requestId: body.requestId, kind: 'deposit' as const, walletId: wallet.id, fingerprint, at: now };
  const refuse = (reason: EmoneyReason, serial: string | null) => record<EmoneyDepositAnswer>(tx, request, { requestId: body.requestId, status: 'refused', reason, serial }, null);
  if (issuer === null) return refuse('emoney-unavailable', null);

  const records = await tx.getEmoneyTokens(body.tokens.map((t) => t.serial));
  const why = refusal(wallet, body.tokens, signed, records);
  if (why) return refuse(why[0], why[1]);
  const first = body.tokens[0]!;
  const currency = first.amount.currency;
  const [float] = await tx.findAccounts('issuer-float', currency);
  const account = (await tx.getAccounts([wallet.account])).get(wallet.account);
  if (!account || account.status !== 'active') return refuse('account-not-active', null);
  if (account.currency !== currency) return refuse('currency-mismatch', null);
  invariant(float !== undefined && body.tokens.every((t) => t.float === float.id), () => `e-money tokens of ${currency} name another float than ${float?.id ?? 'none'}`);

  const total = body.tokens.reduce((sum, t) => sum + t.amount.minor, 0);
  const batch = movementBatch([float, account], now);
  // The float holds exactly the unspent tokens' value (audited): an unspent token it cannot pay is a broken ledger, not a decline.
  invariant(batch.canDebit(float.id, total), () => `issuer float ${float.id} cannot pay ${total} of unspent tokens`);
  batch.move('emoney-deposit', float.id, account.id, total, null, depositReference(body.requestId));
  const serials = body.tokens.map((t) => t.serial);
  return record<EmoneyDepositAnswer>(tx, request, { requestId: body.requestId, status: 'deposited', amount: { minor: total, currency }, serials }, {
    batch, spends: serials.map((serial) => ({ serial, depositRequest: body.requestId, spentAt: now })),
  });
}
