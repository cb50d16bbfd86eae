/**
 * A phone's proof on a wallet API request (docs/gateway.md "The request
 * proof"): the pure parts both sides compute — the canonical query, the proof
 * path, the body hash — and the headers a phone sends. The gateway checks the
 * proof (gateway/http/wallet-proof.ts); the simulated phone signs with it
 * (sim/phone/wallet-api-client.ts). Here because sim may not import gateway/.
 *
 *   mac = HMAC-SHA256(walletKey, walletRequestBytes(walletId, counter, METHOD, proofPath, sha256hex(body)))
 *
 * `proofPath` is the route with its parameters filled in, followed, if the
 * request has a query string, by `?` and the canonical query: every parameter
 * once, sorted by name, `name=value` with both percent-encoded as RFC 3986
 * unreserved (encodeURIComponent, plus `!'()*`), joined by `&`.
 */
import { createHash } from 'node:crypto';
import { walletRequestMac } from './crypto.ts';

export const proofHeaders = { counter: 'x-tapsettle-counter', mac: 'x-tapsettle-mac' } as const;

const encodeComponent = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function canonicalQuery(params: Readonly<Record<string, string>>): string {
  return Object.keys(params).sort().map((k) => `${encodeComponent(k)}=${encodeComponent(params[k]!)}`).join('&');
}

export function proofPath(path: string, params: Readonly<Record<string, string>>): string {
  const q = canonicalQuery(params);
  return q === '' ? path : `${path}?${q}`;
}

export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

export interface WalletRequestToSign {
  walletId: string;
  walletKey: Uint8Array;
  /** Higher than any counter this wallet used on the API before. */
  counter: number;
  method: string;
  /** The route with its parameters filled in, without the query. */
  path: string;
  params?: Readonly<Record<string, string>>;
  /** The exact body bytes sent; none for a GET. */
  body?: Uint8Array | string;
}

/** The two proof headers for one request. */
export function walletProofHeaders(r: WalletRequestToSign): Record<string, string> {
  const mac = walletRequestMac(r.walletKey, {
    walletId: r.walletId, counter: r.counter, method: r.method, path: proofPath(r.path, r.params ?? {}), bodySha256: sha256Hex(r.body ?? new Uint8Array(0)),
  });
  return { [proofHeaders.counter]: String(r.counter), [proofHeaders.mac]: mac };
}
