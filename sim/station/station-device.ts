/**
 * One device of the station: a real device host (startHost with its kind's
 * program, exactly what `tapsettle device <kind>` runs) on simulated parts
 * (the real PN532 driver against a virtual chip with its timing model on),
 * plus the physical world around it: a person walks through a gate once its
 * paddles open, an article falls past a vending machine's drop sensor once a
 * spiral turns (unless that slot was jammed). Cutting it off crashes the host
 * (no DISCONNECT: the broker publishes its last will); reconnecting starts it
 * again on the same data directory, outbox and applied config included.
 */
import type { Logger } from 'pino';
import { hostKinds } from '../../firmware-hosts/kinds.ts';
import { parseDeviceFile } from '../../firmware-hosts/runtime/host-kind.ts';
import { startHost } from '../../firmware-hosts/runtime/host.ts';
import type { RunningHost } from '../../firmware-hosts/runtime/host.ts';
import type { VendingSettings } from '../../firmware-hosts/vending/index.ts';
import { openSimParts } from './sim-parts.ts';
import type { SimHandles } from './sim-parts.ts';
import { StationError } from './errors.ts';
import type { StationPaths } from './station-data.ts';
import type { StationDeviceSpec } from './station-file.ts';

/** A person reaches the paddles this long after they open: long enough for a dashboard (4 updates a second) to show OPEN. */
export const walkThroughAfterMs = 1_200;
/** How long a person takes to cross the beam. */
export const walkThroughMs = 300;
/** An article takes this long to cross the drop sensor's light curtain. */
export const articleFallMs = 40;
/** Display texts remembered per device, for the answer to a tap (a sale shows 3–5). */
export const displayLogMax = 16;
/** Reconnect quickly on a laptop: the gateway is in the same process. */
const linkBackoff = { minMs: 100, maxMs: 2_000 };

export interface StationDeviceOptions {
  spec: StationDeviceSpec;
  secret: string;
  mqttUrl: string;
  paths: StationPaths;
  logger: Logger;
  /** Called when something the dashboard shows of the device changed (cut off, back). */
  changed: () => void;
}

export class StationMachine {
  readonly spec: StationDeviceSpec;
  private running: { host: RunningHost; sim: SimHandles } | null = null;
  private cut = false;
  /** Slots whose next vend drops nothing. */
  readonly jammed = new Set<string>();
  /** The last texts the display showed, oldest first. */
  readonly shown: string[] = [];
  /** The tap in progress on this device (one customer at a time). */
  busy: string | null = null;
  private timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: StationDeviceOptions) {
    this.spec = o.spec;
  }

  get id(): string {
    return this.spec.id;
  }

  get cutOff(): boolean {
    return this.cut;
  }

  /** The running host and its simulated parts; throws when the device is cut off or not started. */
  get live(): { host: RunningHost; sim: SimHandles } {
    if (this.cut) throw new StationError('TS_ERR_STATION_CUT_OFF', `${this.id} is cut off; reconnect it first`);
    if (this.running === null) throw new StationError('TS_ERR_STATION_NOT_RUNNING', `${this.id} is not running`);
    return this.running;
  }

  /** Vending slot codes (what `jam` takes); empty for other kinds. */
  get slots(): string[] {
    return this.spec.kind === 'vending' ? Object.keys((this.spec.section.slots ?? {})) : [];
  }

  async start(): Promise<void> {
    const { spec, paths } = this.o;
    const kind = hostKinds[spec.kind];
    const section = spec.kind === 'gate' ? { ...spec.section, admissionKeyFile: paths.admissionKey(spec.id) } : spec.section;
    const file = parseDeviceFile(kind, {
      device: { id: spec.id, kind: spec.kind, secret: this.o.secret },
      gateway: { url: this.o.mqttUrl },
      dataDir: paths.deviceData(spec.id),
      parts: spec.parts,
      [spec.kind]: section,
    }, paths.deviceFile(spec.id));
    const { parts, sim } = await openSimParts(file.parts, { timing: true, onDisplay: (text) => this.remember(text) });
    let host: RunningHost;
    try {
      const logger = this.o.logger.child({ device: spec.id }, spec.logLevel ? { level: spec.logLevel } : {});
      host = await startHost({ file, parts, program: (ctx) => kind.program(ctx), logger, link: { backoff: linkBackoff } });
    } catch (err) {
      await parts.close();
      throw err;
    }
    this.running = { host, sim };
    this.wireWorld(sim, file.section);
    this.showPartsLive(host, sim);
  }

  /** `on`: crash the host (its link drops, the broker publishes its last will); `off`: start it again on the same data. */
  async setCut(on: boolean): Promise<string> {
    if (on === this.cut) return on ? `${this.id} is already cut off` : `${this.id} is already connected`;
    if (on) {
      const running = this.running;
      this.cut = true;
      this.running = null;
      this.clearTimers();
      await running?.host.abort();
    } else {
      await this.start();
      this.cut = false;
    }
    this.o.changed();
    return on ? `${this.id} cut off` : `${this.id} reconnected`;
  }

  jam(slot?: string): string {
    if (this.spec.kind !== 'vending') throw new StationError('TS_ERR_STATION_UNKNOWN_DEVICE', `${this.id} is a ${this.spec.kind}: it has no dispenser to jam`);
    const code = slot ?? this.slots[0]!;
    if (!this.slots.includes(code)) throw new StationError('TS_ERR_STATION_UNKNOWN_DEVICE', `${this.id} has no slot ${code} (slots: ${this.slots.join(', ')})`);
    this.jammed.add(code);
    return `slot ${code} jammed: its next vend drops nothing`;
  }

  async close(): Promise<void> {
    this.clearTimers();
    const running = this.running;
    this.running = null;
    await running?.host.close();
  }

  private remember(text: string): void {
    this.shown.push(text);
    if (this.shown.length > displayLogMax) this.shown.shift();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * A host republishes its retained state on its own transitions; a spiral's
   * relay opens and closes inside one state (`dispensing`), so the station
   * republishes on every relay and sensor change too — what the host's own
   * refresh() sends (coalesced by the link) — and the dashboard sees it turn.
   * Likewise when a config arrives: a terminal's `no-config` fault clears
   * without a transition.
   */
  private showPartsLive(host: RunningHost, sim: SimHandles): void {
    const present = (): void => {
      const p = host.program;
      host.link.present({ machineState: p.machine.state, outputs: p.outputs() }, p.faults());
    };
    for (const relay of sim.relays.values()) relay.on('change', present);
    for (const input of sim.inputs.values()) input.on('change', present);
    host.link.on('config', present);
  }

  /** People and articles: what the parts see when a relay opens. */
  private wireWorld(sim: SimHandles, section: unknown): void {
    if (this.spec.kind === 'gate') {
      const relay = sim.relays.get((section as { relay: string }).relay);
      const beam = sim.inputs.get((section as { passageSensor: string }).passageSensor);
      relay?.on('change', (state) => {
        if (state === 'open') this.later(walkThroughAfterMs, () => void beam?.pulse(walkThroughMs).catch(() => undefined));
      });
    }
    if (this.spec.kind === 'vending') {
      const s = section as VendingSettings;
      const drop = sim.inputs.get(s.dropSensor);
      for (const [code, slot] of Object.entries(s.slots)) {
        sim.relays.get(slot.relay)?.on('change', (state) => {
          if (state !== 'open') return;
          if (this.jammed.delete(code)) return; // the spiral turns, the article stays stuck
          // The article falls halfway through the turn, well inside dropDeadlineMs (≥ pulseMs).
          this.later(Math.round(s.pulseMs / 2), () => void drop?.pulse(articleFallMs).catch(() => undefined));
        });
      }
    }
  }
}
