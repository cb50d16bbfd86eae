/**
 * The `gate:` section of a gate's device file (docs/devices/gate.md): its
 * mode, its station, its parts, its waits, its own admission signing key and
 * its offline policy. Every number is bounded and every default is named.
 * Fares, the deny list and the public keys are not here: they come from the
 * gateway as the retained config.
 */
import { z } from 'zod';
import { limits } from '../../protocol/index.ts';

export const gateModes = ['entry', 'exit', 'entry-exit', 'ticket'] as const;
export type GateMode = (typeof gateModes)[number];

export const gateDefaults = {
  relay: 'gate',
  passageSensor: 'passage',
  /** A turnstile or paddle gate lets one person through in 2–4 s; 5 s covers a slow walker with luggage. */
  openPulseMs: 5_000,
  /** Transit gates are specified at 200–300 ms tap-to-open; 2 s is where a queue forms and the offline policy decides. */
  resultTimeoutMs: 2_000,
  /** How long one wait for a phone lasts before the loop looks at its faults again. */
  tapPollMs: 500,
  /** The core holds an exit fare in clearing until the gate reports passed / not-passed; past this it refunds. */
  outcomeDeadlineSec: 120,
  /** A customer whose gate closed before they passed may tap again within this and is not charged twice. */
  retryGraceMs: 120_000,
  /** Tickets remembered as used (single use); a rewrite of the state file costs about 100 bytes per ticket. */
  usedTicketsMax: 2_000,
  offline: { policy: 'refuse', amountMaxMinor: 1_000, countMax: 2 },
} as const;

const PartName = z.string().min(1).max(32).regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');
/** Raw 32-byte Ed25519 seed or public key, base64url without padding. */
const RawKey = z.string().length(43).regex(/^[A-Za-z0-9_-]+$/, 'a raw 32-byte key in base64url');

export const AdmissionKeySection = z.strictObject({
  keyId: z.string().min(1).max(64),
  privateKey: RawKey,
});
export type AdmissionKeySection = z.infer<typeof AdmissionKeySection>;

export const OfflineSection = z.strictObject({
  /** refuse: no verified result in time → the gate stays closed. accept: open up to the limits and settle later. */
  policy: z.enum(['refuse', 'accept']).default(gateDefaults.offline.policy),
  /** Outstanding (not yet settled) offline debt one wallet may run up at this gate. */
  amountMaxMinor: z.number().int().min(0).max(limits.amountMinorMax).default(gateDefaults.offline.amountMaxMinor),
  /** Outstanding offline journeys one wallet may make at this gate. */
  countMax: z.number().int().min(0).max(100).default(gateDefaults.offline.countMax),
});

export const GateSection = z.strictObject({
  mode: z.enum(gateModes),
  /** The station this gate stands in: written into admissions, the `to` of an exit fare. */
  stationId: z.string().min(1).max(limits.stationIdLengthMax),
  relay: PartName.default(gateDefaults.relay),
  passageSensor: PartName.default(gateDefaults.passageSensor),
  openPulseMs: z.number().int().min(100).max(60_000).default(gateDefaults.openPulseMs),
  resultTimeoutMs: z.number().int().min(50).max(30_000).default(gateDefaults.resultTimeoutMs),
  tapPollMs: z.number().int().min(20).max(10_000).default(gateDefaults.tapPollMs),
  outcomeDeadlineSec: z.number().int().min(10).max(limits.outcomeDeadlineSecMax).default(gateDefaults.outcomeDeadlineSec),
  retryGraceMs: z.number().int().min(0).max(3_600_000).default(gateDefaults.retryGraceMs),
  usedTicketsMax: z.number().int().min(10).max(100_000).default(gateDefaults.usedTicketsMax),
  /** The gate's own Ed25519 key for the admissions it writes (entry modes); its public half goes into keys.gates. */
  admissionKey: AdmissionKeySection.optional(),
  /** Or a JSON file holding { keyId, privateKey } (owner-only, outside the YAML); relative to the device file. */
  admissionKeyFile: z.string().min(1).max(1024).optional(),
  /** Ticket mode: the products this gate admits; absent = any product. */
  products: z.array(z.string().min(1).max(limits.articleIdLengthMax)).min(1).max(64).optional(),
  offline: OfflineSection.default({ ...gateDefaults.offline }),
}).refine((g) => !(g.admissionKey !== undefined && g.admissionKeyFile !== undefined), { message: 'give at most one of admissionKey and admissionKeyFile', path: ['admissionKey'] })
  .refine((g) => !writesAdmissions(g.mode) || g.admissionKey !== undefined || g.admissionKeyFile !== undefined, { message: 'an entry gate needs admissionKey or admissionKeyFile to sign admissions', path: ['admissionKey'] });
export type GateSettings = z.infer<typeof GateSection>;

export const writesAdmissions = (mode: GateMode): boolean => mode === 'entry' || mode === 'entry-exit';
export const chargesFares = (mode: GateMode): boolean => mode === 'exit' || mode === 'entry-exit';
