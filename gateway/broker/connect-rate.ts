/**
 * New connections per address per second, counted in one-second windows.
 * Checked at TCP accept, before TLS, WebSocket or MQTT cost anything, so a
 * flood from one host is refused for the price of a closed socket.
 */
export class ConnectRateLimiter {
  /** Window start (epoch ms) and connections admitted in it, per address. */
  private readonly windows = new Map<string, { startMs: number; count: number }>();

  constructor(
    private readonly perSecMax: number,
    private readonly trackedIpsMax: number,
    private readonly now: () => number,
  ) {}

  /** Counts a connection from `address`; false when it is over the limit. */
  admit(address: string): boolean {
    const t = this.now();
    let w = this.windows.get(address);
    if (w === undefined || t - w.startMs >= windowMs) {
      if (w === undefined && this.windows.size >= this.trackedIpsMax) {
        this.forgetPastWindows(t);
        // Still full: that many addresses within one second is a distributed flood; fail closed.
        if (this.windows.size >= this.trackedIpsMax) return false;
      }
      w = { startMs: t, count: 0 };
      this.windows.set(address, w);
    }
    if (w.count >= this.perSecMax) return false;
    w.count += 1;
    return true;
  }

  get trackedAddresses(): number {
    return this.windows.size;
  }

  private forgetPastWindows(t: number): void {
    for (const [address, w] of this.windows) if (t - w.startMs >= windowMs) this.windows.delete(address);
  }
}

const windowMs = 1000;

/** `::ffff:127.0.0.1` and `127.0.0.1` are one host. */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
