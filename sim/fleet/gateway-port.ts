/**
 * What the fleet needs of a gateway, as an interface: sim/ may not import the
 * gateway or the core (DESIGN §3), so whoever runs the fleet (the CLI, the
 * benchmark, the tests) starts a real gateway and hands it in
 * (cli/commands/sim-fleet.ts: startEmbeddedFleetGateway).
 */
import type { DeviceKind, SigningKeyPair } from '../../protocol/index.ts';

export interface FleetTransfer {
  id: number;
  kind: string;
  journalDeviceId: string | null;
  journalRequestId: string | null;
}

export interface FleetJournalEntry {
  deviceId: string;
  requestId: string;
  state: string;
}

/** The settlement core's operator tasks and audit, as the fleet uses them. */
export interface FleetLedger {
  initCurrency(currency: string): Promise<unknown>;
  openAccount(input: { kind: 'merchant'; branch: number; currency: string; name: string }): Promise<{ id: string }>;
  openAccounts(inputs: readonly { kind: 'customer'; branch: number; currency: string; name: string; attributes: { ageBand: '21-plus' } }[]): Promise<{ id: string }[]>;
  fundMany(inputs: readonly { account: string; amount: number; reference: string }[]): Promise<void>;
  enrollWallets(accounts: readonly string[]): Promise<{ wallet: { id: string; account: string }; walletKey: Buffer }[]>;
  registerDevice(input: { id: string; kind: DeviceKind; merchant: string }): Promise<unknown>;
  audit(): Promise<{ ok: boolean; checks: { name: string; ok: boolean }[] }>;
  drain(): Promise<void>;
  readonly store: {
    scanTransfers(afterId: number, limit: number): Promise<FleetTransfer[]>;
    scanJournal(after: { deviceId: string; requestId: string } | null, limit: number): Promise<FleetJournalEntry[]>;
  };
}

export interface FleetGatewayInstance {
  readonly core: FleetLedger;
  readonly registry: { add(input: { id: string; kind: DeviceKind; merchant: string }): Promise<{ secret: string }> };
  readonly broker: { publish(topic: string, payload: string, options: { qos: 0 | 1; retain: boolean }): Promise<void> };
}

export interface FleetGateway {
  /** The running gateway (a new object after each restart). */
  readonly gw: FleetGatewayInstance;
  readonly mqttPort: number;
  /** Stops the gateway as a SIGTERM would and starts it again after awayMs on the same port, data and keys. */
  restart(awayMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a gateway for the fleet: data under `dir`, MQTT on 127.0.0.1, kiosk tickets signed with `ticketIssuer`. */
export type StartFleetGateway = (dir: string, ticketIssuer: SigningKeyPair) => Promise<FleetGateway>;
