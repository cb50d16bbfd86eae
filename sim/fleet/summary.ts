/**
 * The end of a run: what the customers saw (taps, approved, declined by
 * reason, offline acceptances, tap-to-result percentiles) and what the ledger
 * says (refunds, the core's audit, every approved settlement withdrawn
 * exactly once), as JSON and as text.
 */
import type { DeviceKind } from '../../protocol/index.ts';
import type { TapRecord } from './customers.ts';
import type { FaultCounts } from './fault-proxy.ts';
import type { FleetLedger } from './gateway-port.ts';

/** Transfers and journal entries read per page while checking the ledger. */
export const ledgerPageMax = 5_000;

export interface LedgerCheck {
  auditOk: boolean;
  /** Names of the audit checks that failed. */
  auditFailed: string[];
  /** Journal entries that moved money (approved, then withdrawn / deposited / reversed …). */
  approvedEntries: number;
  /** Entries withdrawn other than exactly once, plus declined entries that moved money. */
  settledOnceViolations: number;
  /** Approved taps whose journal entry is missing or not approved. */
  tapsWithoutEntry: number;
  /** Reversals and cancellations: money given back (vend-failed, a refunded ticket, an outcome deadline). */
  refunds: number;
}

export interface FleetSummary {
  scenario: string;
  seed: number;
  mode: 'full' | 'light';
  devices: Record<DeviceKind, number>;
  phones: number;
  taps: number;
  approved: number;
  declined: Record<string, number>;
  offlineAccepted: number;
  noAnswer: Record<string, number>;
  refunds: number;
  byKind: Record<string, { taps: number; approved: number }>;
  tapToResultMs: { n: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  ledger: LedgerCheck;
  gatewayRestarts: number;
  faults: FaultCounts | null;
  durationMs: number;
  rssMb: number;
}

/** The parts of a summary that one seed reproduces exactly (timings and fault counts vary with the machine). */
export function replayable(s: FleetSummary): Omit<FleetSummary, 'tapToResultMs' | 'durationMs' | 'rssMb' | 'faults'> {
  const { tapToResultMs: _t, durationMs: _d, rssMb: _r, faults: _f, ...rest } = s;
  return rest;
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const countBy = (records: readonly TapRecord[], outcome: TapRecord['outcome']): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const r of records) if (r.outcome === outcome) out[r.reason ?? 'none'] = (out[r.reason ?? 'none'] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
};

const approvedStates = new Set(['withdrawn', 'deferred', 'deposited', 'reversed', 'cancelled']);

/** Reads every transfer and journal entry: the audit, and each approved entry withdrawn exactly once. */
export async function checkLedger(core: FleetLedger, records: readonly TapRecord[]): Promise<LedgerCheck> {
  const report = await core.audit();
  const withdraws = new Map<string, number>();
  let refunds = 0;
  for (let after = 0; ;) {
    const page = await core.store.scanTransfers(after, ledgerPageMax);
    for (const t of page) {
      if (t.kind === 'withdraw' && t.journalDeviceId !== null) {
        const k = `${t.journalDeviceId}/${t.journalRequestId}`;
        withdraws.set(k, (withdraws.get(k) ?? 0) + 1);
      }
      if (t.kind === 'reverse' || t.kind === 'cancel') refunds += 1;
    }
    if (page.length < ledgerPageMax) break;
    after = page[page.length - 1]!.id;
  }
  let approvedEntries = 0;
  let violations = 0;
  const approved = new Set<string>();
  for (let after: { deviceId: string; requestId: string } | null = null; ;) {
    const page = await core.store.scanJournal(after, ledgerPageMax);
    for (const e of page) {
      const k = `${e.deviceId}/${e.requestId}`;
      const n = withdraws.get(k) ?? 0;
      if (approvedStates.has(e.state)) {
        approvedEntries += 1;
        approved.add(k);
        if (n !== 1) violations += 1;
      } else if (n !== 0) violations += 1;
    }
    if (page.length < ledgerPageMax) break;
    const last = page[page.length - 1]!;
    after = { deviceId: last.deviceId, requestId: last.requestId };
  }
  const tapsWithoutEntry = records.filter((r) => r.outcome === 'approved' && r.requestId !== null && !approved.has(`${r.deviceId}/${r.requestId}`)).length;
  return { auditOk: report.ok, auditFailed: report.checks.filter((c) => !c.ok).map((c) => c.name), approvedEntries, settledOnceViolations: violations, tapsWithoutEntry, refunds };
}

export function summarize(input: Omit<FleetSummary, 'taps' | 'approved' | 'declined' | 'offlineAccepted' | 'noAnswer' | 'refunds' | 'byKind' | 'tapToResultMs'>, records: readonly TapRecord[]): FleetSummary {
  const ms = records.flatMap((r) => (r.ms === null ? [] : [r.ms])).sort((a, b) => a - b);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  const byKind: Record<string, { taps: number; approved: number }> = {};
  for (const r of records) {
    const k = (byKind[r.kind] ??= { taps: 0, approved: 0 });
    k.taps += 1;
    if (r.outcome === 'approved') k.approved += 1;
  }
  return {
    ...input,
    taps: records.length,
    approved: records.filter((r) => r.outcome === 'approved').length,
    declined: countBy(records, 'declined'),
    offlineAccepted: records.filter((r) => r.outcome === 'offline-accepted').length,
    noAnswer: countBy(records, 'no-answer'),
    refunds: input.ledger.refunds,
    byKind: Object.fromEntries(Object.entries(byKind).sort(([a], [b]) => a.localeCompare(b))),
    tapToResultMs: { n: ms.length, p50: round(percentile(ms, 50)), p90: round(percentile(ms, 90)), p99: round(percentile(ms, 99)), max: round(ms.at(-1) ?? null) },
  };
}

const list = (o: Record<string, number>): string => (Object.keys(o).length === 0 ? 'none' : Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', '));

export function formatSummary(s: FleetSummary): string {
  const l = s.ledger;
  const t = s.tapToResultMs;
  return [
    `fleet run: scenario ${s.scenario}, seed ${s.seed} (replay: --seed ${s.seed}), ${s.mode} hosts`,
    `  devices          ${Object.entries(s.devices).map(([k, v]) => `${k} ${v}`).join(', ')}; phones ${s.phones}`,
    `  taps             ${s.taps} (${Object.entries(s.byKind).map(([k, v]) => `${k} ${v.taps}`).join(', ')})`,
    `  approved         ${s.approved}`,
    `  declined         ${list(s.declined)}`,
    `  offline accepted ${s.offlineAccepted}`,
    `  no answer        ${list(s.noAnswer)}`,
    `  refunds          ${s.refunds}`,
    `  tap-to-result    p50 ${t.p50 ?? '-'} ms, p90 ${t.p90 ?? '-'} ms, p99 ${t.p99 ?? '-'} ms, max ${t.max ?? '-'} ms (n ${t.n})`,
    `  ledger audit     ${l.auditOk ? 'passed' : `FAILED (${l.auditFailed.join(', ')})`}; ${l.approvedEntries} approved settlements, ${l.settledOnceViolations} not settled exactly once, ${l.tapsWithoutEntry} approved taps without an entry`,
    ...(s.faults ? [`  message faults   dropped ${s.faults.dropped}, duplicated ${s.faults.duplicated}, delayed ${s.faults.delayed}, forwarded ${s.faults.forwarded}`] : []),
    `  gateway restarts ${s.gatewayRestarts}; ${(s.durationMs / 1000).toFixed(1)} s; RSS ${s.rssMb} MB`,
  ].join('\n');
}
