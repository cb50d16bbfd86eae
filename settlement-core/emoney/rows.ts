/**
 * E-money rows ↔ records, shared by the SQLite and PostgreSQL stores (same
 * columns). A token read back is parsed with protocol's schema and checked
 * against its own columns (assert on both sides of the disk).
 */
import { EmoneyToken } from '../../protocol/index.ts';
import { invariant } from '../errors.ts';
import type { EmoneyRequestRecord, EmoneyTokenRecord } from '../model.ts';

type Row = Record<string, unknown>;

/** An INTEGER (SQLite: number) or BIGINT (pg: string) column. */
function int(v: unknown, what: string): number {
  const n = typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : v;
  invariant(typeof n === 'number' && Number.isSafeInteger(n), () => `${what} read back as ${String(v)}`);
  return n;
}
const str = (v: unknown, what: string): string => {
  invariant(typeof v === 'string', () => `${what} read back as ${String(v)}`);
  return v;
};

/** Column order of an inserted token row. */
export const emoneyTokenColumns = ['serial', 'amount', 'currency', 'holder', 'float_account', 'issued_at', 'issue_request', 'token_json'] as const;

export const emoneyTokenToValues = (r: EmoneyTokenRecord): [string, number, string, string, string, number, string, string] => {
  const t = r.token;
  return [t.serial, t.amount.minor, t.amount.currency, t.holder, t.float, t.issuedAt, r.issueRequest, JSON.stringify(t)];
};

export function emoneyTokenFromRow(r: Row): EmoneyTokenRecord {
  const parsed = EmoneyToken.safeParse(JSON.parse(str(r.token_json, 'emoney_tokens.token_json')));
  invariant(parsed.success, () => `e-money token ${String(r.serial)} read back is not an EmoneyToken`);
  const token = parsed.data;
  invariant(
    token.serial === r.serial && token.amount.minor === int(r.amount, 'emoney_tokens.amount') && token.amount.currency === r.currency
      && token.holder === r.holder && token.float === r.float_account && token.issuedAt === int(r.issued_at, 'emoney_tokens.issued_at'),
    () => `e-money token ${token.serial} does not match its row`,
  );
  const spentAt = r.spent_at === null ? null : int(r.spent_at, 'emoney_tokens.spent_at');
  const depositRequest = r.deposit_request === null ? null : str(r.deposit_request, 'emoney_tokens.deposit_request');
  invariant((spentAt === null) === (depositRequest === null), () => `e-money token ${token.serial}: spent_at and deposit_request disagree`);
  return { token, issueRequest: str(r.issue_request, 'emoney_tokens.issue_request'), spentAt, depositRequest };
}

/** Column order of an inserted request row. */
export const emoneyRequestColumns = ['request_id', 'kind', 'wallet_id', 'fingerprint', 'answer_json', 'at'] as const;

export const emoneyRequestToValues = (r: EmoneyRequestRecord): [string, string, string, string, string, number] =>
  [r.requestId, r.kind, r.walletId, r.fingerprint, r.answerJson, r.at];

export function emoneyRequestFromRow(r: Row): EmoneyRequestRecord {
  const kind = str(r.kind, 'emoney_requests.kind');
  invariant(kind === 'issue' || kind === 'deposit', () => `e-money request ${String(r.request_id)} has kind ${kind}`);
  return {
    requestId: str(r.request_id, 'emoney_requests.request_id'), kind, walletId: str(r.wallet_id, 'emoney_requests.wallet_id'),
    fingerprint: str(r.fingerprint, 'emoney_requests.fingerprint'), answerJson: str(r.answer_json, 'emoney_requests.answer_json'),
    at: int(r.at, 'emoney_requests.at'),
  };
}

/** One (float account, value, count) row of the outstanding aggregate. */
export const outstandingFromRows = (rows: readonly Row[]): Map<string, { value: number; count: number }> =>
  new Map(rows.map((r) => [str(r.float_account, 'emoney_tokens.float_account'), { value: int(r.value, 'sum(amount)'), count: int(r.n, 'count(*)') }]));
