/**
 * A phone's proof on a wallet API request (claims 5–7, 12, 13).
 *
 * Headers: `x-tapsettle-counter` (decimal, higher than any counter this wallet
 * used on the API before) and `x-tapsettle-mac` (64 lower-case hex digits):
 *
 *   mac = HMAC-SHA256(walletKey, walletRequestBytes(walletId, counter, METHOD, proofPath, sha256hex(body)))
 *
 * `proofPath` is the route with its parameters filled in (for example
 * `/v1/wallets/{walletId}/statement`), followed, if the request has a query
 * string, by `?` and the canonical query: every parameter once, sorted by
 * name, `name=value` with both percent-encoded as RFC 3986 unreserved
 * (encodeURIComponent, plus `!'()*`), joined by `&`. A parameter given twice
 * is refused. So the path, every query parameter and the exact body bytes
 * are covered: nothing can be changed in flight, and the counter is consumed
 * durably by the core before anything is read. The canonical query, proof
 * path and body hash are computed by protocol/wallet-proof.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Mac, limits } from '../../protocol/index.ts';
import { proofHeaders, proofPath, sha256Hex } from '../../protocol/wallet-proof.ts';
import type { SettlementCore, Wallet } from '../../settlement-core/index.ts';
import { HttpError } from './errors.ts';

// The pure parts live in protocol/ so the simulated phone can sign with them (sim may not import gateway/).
export { canonicalQuery, proofHeaders, proofPath, sha256Hex } from '../../protocol/wallet-proof.ts';

/** The query parameters of a raw request URL, each once; a repeated one is refused rather than guessed at. */
export function queryParams(url: string): Record<string, string> {
  const at = url.indexOf('?');
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (at < 0) return params;
  for (const [k, v] of new URLSearchParams(url.slice(at + 1))) {
    if (Object.hasOwn(params, k)) throw new HttpError('TS_ERR_INVALID_QUERY', `query parameter ${JSON.stringify(k.slice(0, 40))} is given more than once`);
    params[k] = v;
  }
  return params;
}

const counterPattern = /^(0|[1-9]\d{0,9})$/;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? undefined : v;
}

export interface ProofTarget {
  walletId: string;
  method: string;
  path: string;
  params: Readonly<Record<string, string>>;
  /** The exact body bytes; none for a GET. */
  body: Uint8Array | null;
}

/**
 * Checks the proof with the core (which consumes the counter) and returns the
 * authenticated wallet, or throws a coded 401/403. Unknown wallet and wrong
 * MAC get the same answer, so the API does not say which wallet ids exist.
 */
export async function authenticate(core: SettlementCore, headers: IncomingHttpHeaders, target: ProofTarget): Promise<Wallet> {
  const counterText = headerValue(headers, proofHeaders.counter);
  const mac = headerValue(headers, proofHeaders.mac);
  if (counterText === undefined || mac === undefined) throw new HttpError('TS_ERR_PROOF_MISSING', `headers ${proofHeaders.counter} and ${proofHeaders.mac} are required, once each`);
  const counter = Number(counterText);
  if (!counterPattern.test(counterText) || counter > limits.walletCounterMax) throw new HttpError('TS_ERR_BAD_PROOF', `${proofHeaders.counter} must be a decimal integer 0..${limits.walletCounterMax}`);
  if (!Mac.safeParse(mac).success) throw new HttpError('TS_ERR_BAD_PROOF', `${proofHeaders.mac} must be 64 lower-case hex digits`);
  const verdict = await core.authenticateWalletRequest({
    walletId: target.walletId, counter, method: target.method, path: proofPath(target.path, target.params),
    bodySha256: sha256Hex(target.body ?? new Uint8Array(0)), mac,
  });
  if (verdict.ok) return verdict.wallet;
  switch (verdict.reason) {
    case 'counter-reused':
      throw new HttpError('TS_ERR_COUNTER_REUSED', 'this counter was already used; sign the request again with a higher one');
    case 'wallet-not-active':
      throw new HttpError('TS_ERR_WALLET_NOT_ACTIVE', 'the wallet is blocked');
    case 'unknown-wallet':
    case 'bad-cryptogram':
      throw new HttpError('TS_ERR_BAD_PROOF', 'the request proof does not verify for this wallet');
  }
}
