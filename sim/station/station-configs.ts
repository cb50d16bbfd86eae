/**
 * The retained configs a station places for its devices: the station file's
 * catalog / fare table / deny list per device, plus the merchant, every
 * gate's admission public key (`keys.gates`) and the ticket issuer's public
 * keys (`keys.issuer`: the current one and those rotated out). The wiring (cli) gives them a version and hands them
 * to the gateway's device-configs directory, which publishes them retained
 * and again after every gateway restart.
 */
import type { DeviceConfig, SigningKeyPair } from '../../protocol/index.ts';
import { StationError } from './errors.ts';
import type { StationFile } from './station-file.ts';

/** What a config says, without the envelope (type, version, requestId, sentAt). */
export type ConfigContent = Pick<DeviceConfig, 'deviceId' | 'merchant' | 'catalog' | 'fareTable' | 'denyList' | 'keys'>;

export interface ConfigInputs {
  merchant: string;
  /** The gateway's ledger currency: every price and fare must be in it. */
  currency: string;
  /** The ticket issuer's public keys, current first then retired (RunningGateway.issuerPublicKeys); none: kiosks will report no-issuer-key. */
  issuers: readonly { keyId: string; publicKey: string }[];
  /** Every gate's admission key pair, by gate id. */
  gateKeys: ReadonlyMap<string, SigningKeyPair>;
}

export function stationConfigs(file: StationFile, inputs: ConfigInputs): ConfigContent[] {
  const keys = {
    issuer: inputs.issuers.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })),
    gates: [...inputs.gateKeys.values()].map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })),
  };
  return file.devices.map((d) => {
    const body = file.configs[d.id] ?? {};
    body.catalog?.forEach((item, i) => {
      if (item.price.currency !== inputs.currency) {
        throw new StationError('TS_ERR_STATION_FILE', `configs.${d.id}.catalog.${i}.price.currency: ${item.price.currency}, but the gateway's ledger is in ${inputs.currency}`);
      }
    });
    if (body.fareTable && body.fareTable.currency !== inputs.currency) {
      throw new StationError('TS_ERR_STATION_FILE', `configs.${d.id}.fareTable.currency: ${body.fareTable.currency}, but the gateway's ledger is in ${inputs.currency}`);
    }
    return { deviceId: d.id, merchant: inputs.merchant, ...body, keys };
  });
}

/** Same content? (Stable JSON of both sides; the envelope is not compared.) */
export function sameContent(a: ConfigContent, b: ConfigContent): boolean {
  return stableJson(a) === stableJson(b);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
