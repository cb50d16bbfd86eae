/**
 * The e-money part of the global audit (emoney.ts says where e-money lives).
 *
 * - emoney-float: per issuer float, the sum of its copies over every server
 *   equals the value of the unspent tokens over every server (the check a
 *   single store runs, settlement-core/emoney/audit.ts, on the logical ledger);
 * - emoney-placement: no server but the e-money server holds an unspent
 *   token or a float copy other than 0 (so float = unspent tokens holds on
 *   each server too); every mint leg's tokens are parked on its sending
 *   server under the leg's reference, and live, the same tokens, on the
 *   e-money server once its credit is there — and not before.
 */
import { Check } from '../../audit.ts';
import type { AuditCheck } from '../../audit.ts';
import { auditEmoney } from '../../emoney/audit.ts';
import type { Account, EmoneyTokenRecord } from '../../model.ts';
import type { LedgerStore } from '../ledger-store.ts';
import { emoneyServer } from './emoney.ts';
import { mintLegSerials } from './ids.ts';

/** A mint leg as the audit found it: the send's server and, when delivered, the credit's. */
export interface MintLeg {
  reference: string;
  sendServer: number;
  creditServer: number | null;
}

/** Serials read per look: bounds one statement's parameters. */
const serialsPerRead = 500;

async function tokensOn(server: LedgerStore, serials: readonly string[]): Promise<Map<string, EmoneyTokenRecord>> {
  const out = new Map<string, EmoneyTokenRecord>();
  for (let i = 0; i < serials.length; i += serialsPerRead) {
    const page = serials.slice(i, i + serialsPerRead);
    for (const [k, v] of await server.transaction((tx) => tx.getEmoneyTokens(page))) out.set(k, v);
  }
  return out;
}

export async function auditShardedEmoney(
  servers: readonly LedgerStore[], store: LedgerStore, logical: ReadonlyMap<string, Account>, floatCopies: { server: number; account: Account }[], mintLegs: readonly MintLeg[],
): Promise<AuditCheck[]> {
  const placement = new Check('emoney-placement');
  for (const [s, server] of servers.entries()) {
    if (s === emoneyServer) continue;
    for (const [float, o] of await server.emoneyOutstanding()) placement.fail(`server ${s}: ${o.count} unspent tokens of ${float} worth ${o.value}, outside the e-money server ${emoneyServer}`);
  }
  for (const { server, account } of floatCopies) {
    if (server !== emoneyServer && account.balance !== 0) placement.fail(`server ${server} ${account.id}: float copy holds ${account.balance}, its money belongs on server ${emoneyServer}`);
  }
  // Per server, the serials to read: parked ones on the sending servers, live ones on the e-money server.
  const wanted = new Map<number, Set<string>>();
  const want = (s: number, serial: string) => {
    if (!wanted.has(s)) wanted.set(s, new Set());
    wanted.get(s)!.add(serial);
  };
  const legs = mintLegs.map((l) => ({ ...l, serials: mintLegSerials(l.reference) ?? [] }));
  for (const l of legs) {
    if (l.sendServer === emoneyServer || (l.creditServer !== null && l.creditServer !== emoneyServer)) placement.fail(`${l.reference}: a mint leg from server ${l.sendServer} to ${String(l.creditServer)}`);
    for (const serial of l.serials) {
      want(l.sendServer, serial);
      want(emoneyServer, serial);
    }
  }
  const read = new Map<number, Map<string, EmoneyTokenRecord>>();
  for (const [s, serials] of wanted) read.set(s, await tokensOn(servers[s]!, [...serials]));
  for (const l of legs) {
    for (const serial of l.serials) {
      const parked = read.get(l.sendServer)?.get(serial);
      const live = read.get(emoneyServer)?.get(serial);
      if (parked?.depositRequest !== l.reference) placement.fail(`${l.reference}: token ${serial} is not parked on server ${l.sendServer}`);
      if (l.creditServer === null && live !== undefined) placement.fail(`${l.reference}: token ${serial} is live before its credit`);
      if (l.creditServer !== null && (live === undefined || parked === undefined || JSON.stringify(live.token) !== JSON.stringify(parked.token) || live.issueRequest !== parked.issueRequest)) {
        placement.fail(`${l.reference}: token ${serial} is credited but not live, the same token, on server ${emoneyServer}`);
      }
    }
  }
  return [await auditEmoney(store, logical), placement.done()];
}
