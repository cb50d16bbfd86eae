/**
 * What a gate must remember across a reboot, besides its outbox:
 * - tickets used here (single use), bounded, forgotten once expired;
 * - its local deny list: wallets whose offline debt was declined;
 * - exit taps whose result did not come in time and that the gate decided on
 *   by itself (accepted offline, or refused): the late answer must still be
 *   acted on. The outstanding offline debt per wallet is counted from these.
 * One small JSON file in the data dir, rewritten whole (temp file, fsync,
 * rename, directory fsync) on every change, so it is never half written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UuidV7, WalletId, limits } from '../../protocol/index.ts';
import { writeFileDurable } from '../runtime/durable-file.ts';

export const gateStateFile = 'gate-state.json';

const Ms = z.number().int().min(0).max(limits.epochMsMax);
const UsedTicket = z.strictObject({ used: z.number().int().min(1).max(limits.ticketUsesMax), validUntil: Ms });
const DenyEntry = z.strictObject({ since: Ms, configVersion: z.number().int().min(0) });
/** An exit tap whose result came late or not yet. `offline`: the gate opened on its policy; `refused`: it stayed closed. */
const Decided = z.strictObject({
  walletId: WalletId,
  amountMinor: z.number().int().min(1).max(limits.amountMinorMax),
  how: z.enum(['offline', 'refused']),
  /** What the passage sensor saw after an offline opening; absent until known. */
  passage: z.enum(['passed', 'not-passed']).optional(),
  /** The late verified result, kept until the passage is known too. */
  result: z.enum(['approved', 'declined']).optional(),
});
export type Decided = z.infer<typeof Decided>;

const StateFile = z.strictObject({
  v: z.literal(1),
  usedTickets: z.record(UuidV7, UsedTicket),
  deny: z.record(WalletId, DenyEntry),
  decided: z.record(UuidV7, Decided),
});
type StateFile = z.infer<typeof StateFile>;

export class GateStateError extends Error {
  readonly code = 'TS_ERR_GATE_STATE';
  override readonly name = 'GateStateError';
}

export class GateState {
  private readonly path: string;
  private data: StateFile = { v: 1, usedTickets: {}, deny: {}, decided: {} };

  /** Reads the file; an unreadable one throws TS_ERR_GATE_STATE (the gate then stays out of service rather than forget used tickets). */
  constructor(dataDir: string, private readonly usedTicketsMax: number) {
    this.path = join(dataDir, gateStateFile);
    if (!existsSync(this.path)) return;
    let parsed: ReturnType<typeof StateFile.safeParse>;
    try {
      parsed = StateFile.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
    } catch (err) {
      throw new GateStateError(`${this.path}: ${(err as Error).message}`);
    }
    if (!parsed.success) throw new GateStateError(`${this.path}: ${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    this.data = parsed.data;
  }

  private save(): void {
    writeFileDurable(this.path, JSON.stringify(this.data));
  }

  // ---- tickets ----

  ticketUses(ticketId: string): number {
    return this.data.usedTickets[ticketId]?.used ?? 0;
  }

  /** True when one more ticket could be remembered (after forgetting the expired ones). */
  ticketRoom(now: number): boolean {
    if (Object.keys(this.data.usedTickets).length < this.usedTicketsMax) return true;
    this.forgetExpired(now);
    return Object.keys(this.data.usedTickets).length < this.usedTicketsMax;
  }

  /** Records one use, durably, before the gate opens. */
  useTicket(ticketId: string, validUntil: number): void {
    const used = this.ticketUses(ticketId) + 1;
    this.data.usedTickets[ticketId] = { used, validUntil };
    this.save();
  }

  /** Gives a use back (the gate closed before anyone passed). */
  returnTicketUse(ticketId: string): void {
    const t = this.data.usedTickets[ticketId];
    if (t === undefined) return;
    if (t.used <= 1) delete this.data.usedTickets[ticketId];
    else t.used -= 1;
    this.save();
  }

  /** An expired ticket is refused anyway, so forgetting it cannot let it in again. */
  private forgetExpired(now: number): void {
    for (const [id, t] of Object.entries(this.data.usedTickets)) if (t.validUntil <= now) delete this.data.usedTickets[id];
  }

  get usedTicketCount(): number {
    return Object.keys(this.data.usedTickets).length;
  }

  // ---- local deny list ----

  denied(walletId: string): boolean {
    return this.data.deny[walletId] !== undefined;
  }

  deny(walletId: string, now: number, configVersion: number): void {
    const entries = Object.entries(this.data.deny);
    if (entries.length >= limits.denyListMax) {
      // Full: drop the oldest. The core's deny list (retained config) still carries it.
      const oldest = entries.sort((a, b) => a[1].since - b[1].since)[0];
      if (oldest) delete this.data.deny[oldest[0]];
    }
    this.data.deny[walletId] = { since: now, configVersion };
    this.save();
  }

  /** A config newer than the one applied when a wallet was denied here is the core's word on it: the local entry goes. */
  supersede(configVersion: number): string[] {
    const gone = Object.entries(this.data.deny).filter(([, d]) => configVersion > d.configVersion).map(([w]) => w);
    for (const w of gone) delete this.data.deny[w];
    if (gone.length > 0) this.save();
    return gone;
  }

  get deniedCount(): number {
    return Object.keys(this.data.deny).length;
  }

  // ---- exit taps decided without a result ----

  decided(requestId: string): Decided | undefined {
    return this.data.decided[requestId];
  }

  decide(requestId: string, d: Decided): void {
    this.data.decided[requestId] = d;
    this.save();
  }

  update(requestId: string, patch: Partial<Decided>): Decided | undefined {
    const d = this.data.decided[requestId];
    if (d === undefined) return undefined;
    Object.assign(d, patch);
    this.save();
    return d;
  }

  forget(requestId: string): void {
    if (this.data.decided[requestId] === undefined) return;
    delete this.data.decided[requestId];
    this.save();
  }

  decidedIds(): string[] {
    return Object.keys(this.data.decided);
  }

  /** Offline journeys of this wallet not yet settled, and their total. */
  offlineDebt(walletId: string): { count: number; amountMinor: number } {
    let count = 0;
    let amountMinor = 0;
    for (const d of Object.values(this.data.decided)) {
      if (d.walletId !== walletId || d.how !== 'offline') continue;
      count += 1;
      amountMinor += d.amountMinor;
    }
    return { count, amountMinor };
  }
}
