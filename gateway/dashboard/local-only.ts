/**
 * The dashboard is local only (docs/dashboard.md "Security"): a request must
 * come from a loopback address and name a loopback host in its Host header.
 * The second check stops DNS rebinding: a web page whose name was made to
 * resolve to 127.0.0.1 still sends its own name as Host.
 */

const loopbackV4 = /^127(?:\.\d{1,3}){3}$/;

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return address === '::1' || loopbackV4.test(v4);
}

/** The host part of a Host header ("127.0.0.1:8080", "[::1]:8080", "localhost"), lower-cased; null if malformed. */
export function hostOf(header: string | undefined): string | null {
  if (header === undefined || header.length === 0 || header.length > 255) return null;
  const h = header.toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? null : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

export function isLocalRequest(remoteAddress: string | undefined, hostHeader: string | undefined): boolean {
  if (!isLoopbackAddress(remoteAddress)) return false;
  const host = hostOf(hostHeader);
  return host === 'localhost' || host === '::1' || (host !== null && loopbackV4.test(host));
}

/** A POST with an Origin header must come from a page of this same host (a browser always sends one on a cross-site POST). */
export function sameOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (hostHeader ?? '').toLowerCase();
  } catch {
    return false;
  }
}
