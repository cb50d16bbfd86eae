/**
 * Claim 34: issuance. In one transaction: debit the payer, credit the issuer
 * float of the currency, mint one Ed25519-signed token for the whole amount
 * to the recipient wallet, and keep the answer. A decline mints nothing and
 * moves nothing; it is kept too, so a resend gets the same answer.
 */
import type { Wallet } from '../model.ts';
import type { LedgerTx } from '../store/ledger-store.ts';
import { movementBatch, record, storedReply } from './decide-common.ts';
import type { EmoneyIssuer } from './decide-common.ts';
import { mintToken } from './mint.ts';
import { emoneyFingerprint, emoneyLimits } from './wire.ts';
import type { EmoneyIssueAnswer, EmoneyIssueBody, EmoneyReason, EmoneyReply } from './wire.ts';

export const issueReference = (requestId: string): string => `emoney-issue:${requestId}`;

export async function decideIssue(tx: LedgerTx, payer: Wallet, body: EmoneyIssueBody, issuer: EmoneyIssuer | null, now: number): Promise<EmoneyReply<EmoneyIssueAnswer>> {
  const fingerprint = emoneyFingerprint(payer.id, { kind: 'issue', value: body });
  const stored = await storedReply<EmoneyIssueAnswer>(tx, body.requestId, fingerprint);
  if (stored) return stored;
  const request = { requestId: body.requestId, kind: 'issue' as const, walletId: payer.id, fingerprint, at: now };
  const decline = (reason: EmoneyReason) => record<EmoneyIssueAnswer>(tx, request, { requestId: body.requestId, status: 'declined', reason }, null);

  const currency = body.amount.currency;
  const [float] = await tx.findAccounts('issuer-float', currency);
  if (issuer === null || float === undefined) return decline('emoney-unavailable');
  const recipient = (await tx.getWallets([body.recipient])).get(body.recipient);
  if (!recipient) return decline('unknown-wallet');
  if (recipient.status !== 'active') return decline('wallet-not-active');
  const account = (await tx.getAccounts([payer.account])).get(payer.account);
  if (!account || account.status !== 'active') return decline('account-not-active');
  if (account.currency !== currency) return decline('currency-mismatch');
  if (body.amount.minor > emoneyLimits.issueAmountMinorMax) return decline('over-limit');
  const batch = movementBatch([account, float], now);
  if (!batch.canDebit(account.id, body.amount.minor)) return decline('insufficient-funds');

  batch.move('emoney-issue', account.id, float.id, body.amount.minor, null, issueReference(body.requestId));
  const token = mintToken(issuer, { amount: body.amount, holder: recipient.id, float: float.id }, now);
  return record<EmoneyIssueAnswer>(tx, request, { requestId: body.requestId, status: 'issued', tokens: [token] }, {
    batch, mints: [{ token, issueRequest: body.requestId, spentAt: null, depositRequest: null }],
  });
}
