/**
 * What the virtual PN532 does with each command (NXP PN532 User Manual §7):
 * the chip's state and one handler per command code. A handler returns the
 * response data (after the response code), or 'syntax-error' for the chip's
 * application-level error frame.
 */
import { brTy106TypeA, cfgItemMaxRetries, inDataExchangeDataBytesMax, passiveActivationForever, pn532CommandCode as cmd, pn532Status } from '../../hardware/nfc/pn532-commands.ts';
import type { Iso14443aTarget } from '../nfc-target.ts';
import type { RfField } from './field.ts';
import type { Pn532Timing } from './timing.ts';
import { abortable, delay } from './waits.ts';

export interface ChipFirmware {
  readonly ic: number;
  readonly ver: number;
  readonly rev: number;
  readonly support: number;
}

/** What a PN532 v1.6 answers to GetFirmwareVersion. */
export const pn532Firmware: ChipFirmware = { ic: 0x32, ver: 0x01, rev: 0x06, support: 0x07 };

export interface ActiveTarget {
  readonly target: Iso14443aTarget;
  readonly uid: Uint8Array;
}

/**
 * ISO 14443-3 says a target sent to HALT (by DESELECT or HLTA, which is what
 * InDeselect and InRelease put on the air) answers only WUPA, and the chip
 * polls with REQA: a released phone is not found again until it leaves the
 * field (or the field is switched off). This is why libnfc's nfc-list lists a
 * phone once, and why a phone left on the reader is not charged twice.
 */
export class ChipState {
  samMode = 0x01;
  rfOn = false;
  /** RFConfiguration item 0x05, third byte; 0xFF (retry forever) after power-on. */
  passiveActivationRetries: number = passiveActivationForever;
  parameters = 0x00;
  /** Written registers; the address space is 16 bits, so this map is bounded by it. */
  readonly registers = new Map<number, number>();
  readonly active = new Map<number, ActiveTarget>();
  /** Halted targets, with the field entry they were halted on. */
  readonly halted = new Map<Iso14443aTarget, number | undefined>();
  powerDownRequested = false;

  /** A new REQA makes active targets fall back to IDLE (not HALT): they answer the next poll. */
  releaseAll(): void {
    for (const { target } of this.active.values()) target.deactivate();
    this.active.clear();
  }

  halt(target: Iso14443aTarget, field: RfField): void {
    target.deactivate();
    this.halted.set(target, field.placementOf(target));
  }

  isHalted(target: Iso14443aTarget, field: RfField): boolean {
    return this.halted.has(target) && this.halted.get(target) === field.placementOf(target);
  }
}

export interface CommandContext {
  readonly state: ChipState;
  readonly field: RfField;
  readonly timing: Pn532Timing;
  readonly firmware: ChipFirmware;
  readonly signal: AbortSignal;
  /** Stands in for the RF timeout stretched by the target's WTX requests: a target silent this long is gone. */
  readonly targetAnswerTimeoutMs: number;
}

export type CommandResult = Uint8Array | 'syntax-error';
type Handler = (ctx: CommandContext, params: Uint8Array) => CommandResult | Promise<CommandResult>;

const ok = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

/** Data bytes per RFConfiguration item (UM §7.3.1); any other length is a syntax error. */
const rfConfigItemBytes = new Map([[0x01, 1], [0x02, 3], [0x04, 1], [0x05, 3], [0x0a, 11], [0x0b, 8], [0x0c, 3], [0x0d, 9]]);

const handlers = new Map<number, Handler>([
  // Test 0 (communication line) echoes NumTst + InParam, which libnfc checks; ROM/RAM and the rest report 00 = fine.
  [cmd.diagnose, (_ctx, p) => (p.length === 0 ? 'syntax-error' : p[0] === 0x00 ? p.slice() : ok(0x00))],
  [cmd.getFirmwareVersion, (ctx) => ok(ctx.firmware.ic, ctx.firmware.ver, ctx.firmware.rev, ctx.firmware.support)],
  [cmd.getGeneralStatus, (ctx) => {
    const targets = [...ctx.state.active.keys()].flatMap((tg) => [tg, 0x00, 0x00, 0x00]); // 106 kbps both ways, type A
    return ok(0x00, ctx.state.rfOn ? 1 : 0, ctx.state.active.size, ...targets, 0x00);
  }],
  [cmd.readRegister, (ctx, p) => {
    if (p.length === 0 || p.length % 2 !== 0) return 'syntax-error';
    const values: number[] = [];
    for (let i = 0; i < p.length; i += 2) values.push(ctx.state.registers.get(((p[i] ?? 0) << 8) | (p[i + 1] ?? 0)) ?? 0x00);
    return ok(...values);
  }],
  [cmd.writeRegister, (ctx, p) => {
    if (p.length === 0 || p.length % 3 !== 0) return 'syntax-error';
    for (let i = 0; i < p.length; i += 3) ctx.state.registers.set(((p[i] ?? 0) << 8) | (p[i + 1] ?? 0), p[i + 2] ?? 0);
    return ok();
  }],
  [cmd.setParameters, (ctx, p) => {
    if (p.length !== 1) return 'syntax-error';
    ctx.state.parameters = p[0] ?? 0;
    return ok();
  }],
  [cmd.samConfiguration, (ctx, p) => {
    const mode = p[0];
    if (mode === undefined || mode < 0x01 || mode > 0x04 || p.length > 3) return 'syntax-error';
    ctx.state.samMode = mode;
    return ok();
  }],
  [cmd.powerDown, (ctx, p) => {
    if (p.length < 1 || p.length > 2) return 'syntax-error';
    ctx.state.powerDownRequested = true;
    return ok(pn532Status.success);
  }],
  [cmd.rfConfiguration, rfConfiguration],
  [cmd.inListPassiveTarget, inListPassiveTarget],
  [cmd.inDataExchange, inDataExchange],
  // Raw frames go to whatever is in the field, activated or not; our targets answer APDUs only, never raw
  // 14443-3 frames, so the chip times out. libnfc sends an empty one when it polls for Thinfilm barcodes.
  [cmd.inCommunicateThru, () => ok(pn532Status.timeout)],
  [cmd.inDeselect, (ctx, p) => stopTargets(ctx, p, false)],
  [cmd.inRelease, (ctx, p) => stopTargets(ctx, p, true)],
  [cmd.inSelect, inSelect],
]);

export async function runChipCommand(ctx: CommandContext, code: number, params: Uint8Array): Promise<CommandResult> {
  const handler = handlers.get(code);
  return handler === undefined ? 'syntax-error' : handler(ctx, params);
}

function rfConfiguration(ctx: CommandContext, p: Uint8Array): CommandResult {
  const item = p[0];
  if (item === undefined || rfConfigItemBytes.get(item) !== p.length - 1) return 'syntax-error';
  if (item === 0x01) {
    ctx.state.rfOn = ((p[1] ?? 0) & 0x01) !== 0;
    if (!ctx.state.rfOn) {
      ctx.state.releaseAll(); // no field, no power: every target drops out, halted ones reset too
      ctx.state.halted.clear();
    }
  }
  if (item === cfgItemMaxRetries) ctx.state.passiveActivationRetries = p[3] ?? passiveActivationForever;
  return ok();
}

/**
 * InDeselect / InRelease on Tg (0 = all): DESELECT or HLTA on the air, so the
 * target halts. Released targets are forgotten; deselected ones stay listed
 * and InSelect wakes them (WUPA + SELECT), as the manual describes.
 */
function stopTargets(ctx: CommandContext, p: Uint8Array, forget: boolean): CommandResult {
  const tg = p[0];
  if (tg === undefined || p.length !== 1) return 'syntax-error';
  const chosen = [...ctx.state.active].filter(([n]) => tg === 0 || n === tg);
  if (tg !== 0 && chosen.length === 0) return ok(pn532Status.wrongContext);
  for (const [n, entry] of chosen) {
    ctx.state.halt(entry.target, ctx.field);
    if (forget) ctx.state.active.delete(n);
  }
  return ok(pn532Status.success);
}

function inSelect(ctx: CommandContext, p: Uint8Array): CommandResult {
  const tg = p[0];
  if (tg === undefined || p.length !== 1) return 'syntax-error';
  const entry = ctx.state.active.get(tg);
  if (entry === undefined || !ctx.field.has(entry.target)) return ok(pn532Status.wrongContext);
  if (ctx.state.isHalted(entry.target, ctx.field)) {
    ctx.state.halted.delete(entry.target);
    ctx.state.active.set(tg, { target: entry.target, uid: entry.target.activate() });
  }
  return ok(pn532Status.success);
}

async function inListPassiveTarget(ctx: CommandContext, p: Uint8Array): Promise<CommandResult> {
  const [maxTg, brTy] = p;
  if (maxTg === undefined || brTy === undefined || maxTg < 1 || maxTg > 2 || brTy > 0x04) return 'syntax-error';
  ctx.state.releaseAll(); // a new inventory starts from an idle field
  ctx.state.rfOn = true;
  const retries = ctx.state.passiveActivationRetries;
  for (let attempt = 0; ; attempt++) {
    // Our field holds ISO 14443-A targets only: FeliCa, type B and Jewel polls find nothing.
    const found = brTy === brTy106TypeA ? ctx.field.targets.filter((t) => !ctx.state.isHalted(t, ctx.field)).slice(0, maxTg) : [];
    if (found.length > 0) return activate(ctx, found);
    if (retries !== passiveActivationForever && attempt >= retries) return ok(0);
    if (ctx.timing.emptyAttemptMs > 0) await delay(ctx.timing.emptyAttemptMs, ctx.signal);
    else if (retries === passiveActivationForever) await abortable(ctx.field.nextChange(ctx.signal), ctx.signal);
  }
}

async function activate(ctx: CommandContext, found: Iso14443aTarget[]): Promise<CommandResult> {
  await delay(ctx.timing.activationMs * found.length, ctx.signal);
  const present = found.filter((target) => ctx.field.has(target)); // one may have left during anticollision
  const out: number[] = [present.length];
  present.forEach((target, index) => {
    const tg = index + 1;
    const uid = target.activate();
    ctx.state.active.set(tg, { target, uid });
    out.push(tg, target.atqa[0] ?? 0, target.atqa[1] ?? 0, target.sak, uid.length, ...uid);
    if ((target.sak & 0x20) !== 0) {
      const ats = target.ats ?? new Uint8Array(0);
      out.push(ats.length + 1, ...ats); // TL counts itself
    }
  });
  return ok(...out);
}

type Exchange = { kind: 'answer'; apdu: Uint8Array } | { kind: 'left' } | { kind: 'silent' };

async function inDataExchange(ctx: CommandContext, p: Uint8Array): Promise<CommandResult> {
  const tgByte = p[0];
  if (tgByte === undefined) return 'syntax-error';
  // MI (bit 6) chaining of host data is not simulated; say so with a status rather than pretend.
  if ((tgByte & 0x40) !== 0) return ok(pn532Status.invalidParameter);
  const tg = tgByte & 0x3f;
  const entry = ctx.state.active.get(tg);
  if (entry === undefined) return ok(pn532Status.wrongContext);
  if (ctx.state.isHalted(entry.target, ctx.field)) return ok(pn532Status.timeout); // deselected: it does not answer I-blocks
  const apdu = p.slice(1);
  await delay(ctx.timing.rfByteMs * apdu.length, ctx.signal);
  const outcome = await exchangeWith(ctx, entry.target, apdu);
  if (outcome.kind !== 'answer') {
    if (outcome.kind === 'left' || !ctx.field.has(entry.target)) ctx.state.active.delete(tg);
    await delay(ctx.timing.rfTimeoutMs, ctx.signal); // the chip only learns by its own RF timeout
    return ok(pn532Status.timeout);
  }
  if (outcome.apdu.length > inDataExchangeDataBytesMax) return ok(0x07); // communication buffer size insufficient
  await delay(ctx.timing.rfByteMs * outcome.apdu.length, ctx.signal);
  return ok(pn532Status.success, ...outcome.apdu);
}

/** Relays one APDU; settles on the answer, the target leaving the field, silence, or the host's abort. */
async function exchangeWith(ctx: CommandContext, target: Iso14443aTarget, apdu: Uint8Array): Promise<Exchange> {
  if (!ctx.field.has(target)) return { kind: 'left' };
  const local = new AbortController(); // ends the side waits once one of them won
  const onAbort = (): void => local.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await abortable(Promise.race<Exchange>([
      target.transceive(apdu).then((answer): Exchange => ({ kind: 'answer', apdu: answer }), (): Exchange => ({ kind: 'silent' })),
      ctx.field.left(target, local.signal).then((): Exchange => ({ kind: 'left' })),
      delay(ctx.targetAnswerTimeoutMs, local.signal).then((): Exchange => ({ kind: 'silent' })),
    ]), ctx.signal);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    local.abort();
  }
}
