/**
 * One simulated device of the fleet: its device file (the same keys an
 * operator writes, docs/devices/*.md), its retained config, and the real
 * host started through startHost on simulated parts (sim/station/sim-parts.ts).
 * A vending machine's spirals drop an article shortly after their relay turns,
 * unless the scenario jammed that slot.
 */
import { join } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { uuidv7 } from '../../protocol/index.ts';
import type { DeviceConfig, DeviceKind, SigningKeyPair } from '../../protocol/index.ts';
import { hostKinds } from '../../firmware-hosts/kinds.ts';
import { seededRandom } from '../../firmware-hosts/runtime/backoff.ts';
import { parseDeviceFile } from '../../firmware-hosts/runtime/host-kind.ts';
import { startHost } from '../../firmware-hosts/runtime/host.ts';
import type { RunningHost } from '../../firmware-hosts/runtime/host.ts';
import { openSimParts } from '../station/sim-parts.ts';
import type { SimHandles } from '../station/sim-parts.ts';
import type { Scenario } from './scenario.ts';

/** The one station every fleet gate stands in: an entry and an exit anywhere in the fleet make a journey. */
export const fleetStation = 'central';
/** The kiosk's one product: a single ride. */
export const kioskArticle = 'single-ride';
/** After the relay turns, the article falls through the drop sensor this much later (a short spiral turn). */
export const dropAfterMs = 30;

export interface FleetDevice {
  id: string;
  kind: DeviceKind;
  index: number;
  host: RunningHost;
  sim: SimHandles;
  /** Slots whose spiral turns but drops nothing. */
  jammed: Set<string>;
  /** Set by the relay listener: when the gate or a spiral last opened (performance.now()). */
  openedAt: number;
}

export interface FleetKeys {
  /** The fleet's gates share one admission key: an admission written at any gate verifies at any other. */
  gates: SigningKeyPair;
  issuer: SigningKeyPair;
}

export const deviceIdOf = (kind: DeviceKind, index: number): string => `${kind}-${String(index + 1).padStart(5, '0')}`;

const pub = (k: SigningKeyPair) => ({ keyId: k.keyId, publicKey: k.publicKey });

/** The host's own section and parts for a kind, as a device file would say it. */
function kindFile(kind: DeviceKind, s: Scenario, keys: FleetKeys): Record<string, unknown> {
  switch (kind) {
    case 'gate':
      return {
        parts: { nfc: { driver: 'sim' }, relays: { gate: { pin: 1 } }, inputs: { passage: { pin: 2, kind: 'passage-sensor', debounceMs: 5 } } },
        gate: {
          mode: 'entry-exit', stationId: fleetStation, openPulseMs: 1_000, tapPollMs: 50, resultTimeoutMs: 2_000,
          admissionKey: { keyId: keys.gates.keyId, privateKey: keys.gates.privateKey },
          offline: { policy: s.gate.offline, amountMaxMinor: s.gate.fareMinor * 2, countMax: 2 },
        },
      };
    case 'vending': {
      const relays = Object.fromEntries(s.vending.slots.map((x, i) => [`slot-${x.slot.toLowerCase()}`, { pin: 2 + i }]));
      return {
        parts: { nfc: { driver: 'sim' }, codeReader: { driver: 'sim' }, relays, inputs: { drop: { pin: 40, kind: 'drop-sensor', debounceMs: 5 } } },
        vending: {
          slots: Object.fromEntries(s.vending.slots.map((x) => [x.slot, { relay: `slot-${x.slot.toLowerCase()}`, ...(x.capacity !== undefined ? { capacity: x.capacity } : {}) }])),
          dropSensor: 'drop', pulseMs: 100, dropDeadlineMs: 400, failuresBeforeDisable: 3, outcomeDeadlineSec: 30,
          tapTimeoutMs: 5_000, settleTimeoutMs: 3_000, outcomeAckTimeoutMs: 3_000, messageMs: 0,
        },
      };
    }
    case 'kiosk':
      return { parts: { nfc: { driver: 'sim' }, codeReader: { driver: 'sim' } }, kiosk: { tapWaitMs: 5_000, tapPollMs: 50, settleTimeoutMs: 3_000, outcomeDeadlineSec: 600 } };
    case 'pos':
      return { parts: { nfc: { driver: 'sim' }, codeReader: { driver: 'sim' } }, pos: { mode: 'terminal', resultShowMs: 50, tapTimeoutMs: 5_000, settleTimeoutMs: 3_000 } };
  }
}

/** The retained config the gateway sends this device. */
export function deviceConfig(kind: DeviceKind, id: string, s: Scenario, merchant: string, keys: FleetKeys, denyList: string[], version: number): DeviceConfig {
  const base = { v: 1 as const, type: 'config' as const, requestId: uuidv7(), sentAt: Date.now(), deviceId: id, version, merchant, keys: { issuer: [pub(keys.issuer)], gates: [pub(keys.gates)] }, ...(denyList.length > 0 ? { denyList } : {}) };
  switch (kind) {
    case 'gate':
      return { ...base, fareTable: { currency: 'EUR', maxFareMinor: s.gate.fareMinor * 2, fares: [{ from: fleetStation, to: fleetStation, fareMinor: s.gate.fareMinor }] } };
    case 'vending':
      return { ...base, catalog: s.vending.slots.map((x) => ({ slot: x.slot, article: `art-${x.slot.toLowerCase()}`, name: `Article ${x.slot}`, price: { minor: x.priceMinor, currency: 'EUR' } })) };
    case 'kiosk':
      return { ...base, catalog: [{ slot: 'T1', article: kioskArticle, name: 'Single ride', price: { minor: s.kiosk.priceMinor, currency: 'EUR' }, ticket: { validitySec: 5_400, uses: 1 } }] };
    case 'pos':
      return { ...base, catalog: [{ article: 'COFFEE', name: 'Coffee', price: { minor: 250, currency: 'EUR' } }] };
  }
}

export interface StartDeviceOptions {
  kind: DeviceKind;
  index: number;
  secret: string;
  mqttUrl: string;
  dir: string;
  scenario: Scenario;
  keys: FleetKeys;
  seed: number;
  /** PN532 UART/RF timing model on (a real chip's latencies) or off. */
  timing: boolean;
  /** Shorter resend and reconnect waits: a run with message faults recovers within seconds. */
  resendAfterMs: number;
  logger?: Logger;
}

export async function startDevice(o: StartDeviceOptions): Promise<FleetDevice> {
  const id = deviceIdOf(o.kind, o.index);
  const hostKind = hostKinds[o.kind];
  const file = parseDeviceFile(hostKind, {
    device: { id, kind: o.kind, secret: o.secret },
    gateway: { url: o.mqttUrl },
    dataDir: join(o.dir, id),
    log: { level: 'silent' },
    link: { resendAfterMs: o.resendAfterMs, keepaliveSec: 10 },
    ...kindFile(o.kind, o.scenario, o.keys),
  }, join(o.dir, `${id}.yaml`));
  const { parts, sim } = await openSimParts(file.parts, { timing: o.timing });
  const logger = o.logger ?? pino({ level: 'silent' });
  const host = await startHost({
    file, parts, program: (ctx) => hostKind.program(ctx), logger,
    link: { backoff: { minMs: 50, maxMs: 2_000 }, random: seededRandom((o.seed ^ (o.index * 2654435761)) >>> 0), logger },
  });
  const device: FleetDevice = { id, kind: o.kind, index: o.index, host, sim, jammed: new Set(), openedAt: 0 };
  const drop = sim.inputs.get('drop');
  for (const relay of sim.relays.values()) {
    relay.on('change', (state) => {
      if (state !== 'open') return;
      device.openedAt = performance.now();
      const slot = relay.name.replace(/^slot-/, '').toUpperCase();
      if (drop !== undefined && !device.jammed.has(slot)) setTimeout(() => void drop.pulse(20), dropAfterMs);
    });
  }
  return device;
}
