/**
 * Feeds the dashboard from the running gateway: device `state`, `event` and
 * `outcome` messages (GatewayBroker.onMessage), the registry's devices once,
 * and the results the gateway itself publishes on `tapsettle/v1/dev/+/result`.
 * Every settle answer goes out there — the bridge's for MQTT settles and the
 * wallet API's for claim-9 settles — so that one place sees them all without
 * touching either path. Messages go into the feed's intake raw; the feed
 * decodes them with protocol's never-throwing decoder when someone looks.
 * The broker's availability view is read by the feed itself (`presence`).
 */
import type { AedesPublishPacket, Client } from 'aedes';
import { parseDeviceTopic } from '../../protocol/index.ts';
import type { SettlementCore } from '../../settlement-core/index.ts';
import type { GatewayBroker } from '../broker/broker.ts';
import { toBuffer } from '../broker/message-router.ts';
import type { DashboardFeed, JournalFacts } from './feed.ts';
import type { DashboardLimits } from './limits.ts';
import type { StationView } from './station-view.ts';

export interface SourceLog {
  warn(obj: object, msg: string): void;
}

/** The journal facts a settlement row shows, from the core's store. */
export function journalLookup(core: SettlementCore): (deviceId: string, requestId: string) => Promise<JournalFacts | null> {
  return async (deviceId, requestId) => {
    const entry = await core.store.getJournalEntry({ deviceId, requestId });
    return entry === null ? null : { walletId: entry.walletId, article: entry.article, state: entry.state };
  };
}

/** Connects the feed; returns the function that disconnects it again. */
export function connectGatewaySources(
  feed: DashboardFeed,
  deps: { broker: GatewayBroker; core: SettlementCore; station: StationView | null; limits: DashboardLimits; log: SourceLog },
): () => void {
  const { broker, limits, log } = deps;
  const { intake } = feed;
  const offs: (() => void)[] = [
    broker.onMessage('state', (deviceId, payload) => intake.state(deviceId, payload)),
    broker.onMessage('event', (deviceId, payload) => intake.event(deviceId, payload)),
    broker.onMessage('outcome', (deviceId, payload) => intake.outcome(deviceId, payload)),
  ];

  const onPublish = (packet: AedesPublishPacket, client: Client | null): void => {
    if (client !== null) return; // a device's publication; ours have no client
    const topic = parseDeviceTopic(packet.topic);
    if (topic === null || topic.channel !== 'result') return;
    try {
      intake.result(topic.deviceId, toBuffer(packet.payload));
    } catch (err) {
      // Never into Aedes' publish pipeline.
      log.warn({ err }, 'dashboard could not take a result');
    }
  };
  broker.aedes.on('publish', onPublish);
  offs.push(() => void broker.aedes.removeListener('publish', onPublish));

  deps.core.store.listDevices().then(
    (devices) => feed.addRegistered(devices.slice(0, limits.devicesMax)),
    (err: unknown) => log.warn({ err }, 'dashboard could not list the registered devices'),
  );
  if (deps.station !== null) offs.push(deps.station.subscribe(() => feed.stationChanged()));
  return () => {
    for (const off of offs) off();
  };
}
