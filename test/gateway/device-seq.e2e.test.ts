/**
 * Issue 5 over real sockets: per-device seq tracking (gaps, out-of-order,
 * duplicates, resends, a new baseline after a gateway restart) seen in the
 * admin view and Prometheus, and a ticket minted by the core reaching a kiosk
 * over MQTT, signed with the key the gateway exposes for device configs.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, limits, ticketBytes, topics, uuidv7, verifyEd25519, verifyResultTag, walletCryptogram } from '../../protocol/index.ts';
import type { Purchase, SettleResult } from '../../protocol/index.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import type { GatewayConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/gateway.ts';
import type { GatewayKeys, RunningGateway } from '../../gateway/gateway.ts';
import type { DemoCredentials } from '../../gateway/demo-seed.ts';
import { metricNames } from '../../gateway/metrics.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

let t: ReturnType<typeof tempDir>;
let config: GatewayConfig;
let gw: RunningGateway;
let demo: DemoCredentials;
let counter = 500;
const keys: GatewayKeys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32), ticketIssuer: generateSigningKeyPair('issuer-e2e') };

beforeAll(async () => {
  t = tempDir('tapsettle-gw-seq-');
  config = parseGatewayConfig({ data: t.dir, mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } });
  gw = await startGateway(config, keys);
  demo = gw.demo!;
});
afterAll(async () => {
  await gw.close();
  t.cleanup();
});

const device = (id: string) => demo.devices.find((d) => d.id === id)!;
const connect = (d: DemoCredentials['devices'][number]) =>
  mqtt.connectAsync(gw.urls.mqtt, { clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0 });

function settleBody(deviceId: string, seq: number, extra: Record<string, unknown> = {}): string {
  const wallet = demo.wallets[0]!;
  const purchase: Purchase = { merchant: demo.merchant, amount: { minor: 120, currency: 'EUR' }, article: 'single-ride', quantity: 1 };
  const deviceNonce = randomBytes(limits.nonceBytes).toString('hex');
  counter += 1;
  const cryptogram = walletCryptogram(Buffer.from(wallet.walletKey, 'base64'), { walletId: wallet.walletId, deviceId, purchase, deviceNonce, counter });
  return JSON.stringify({ v: 1, type: 'settle', requestId: uuidv7(), sentAt: Date.now(), seq, deviceId, purchase, wallet: { walletId: wallet.walletId, counter, deviceNonce, cryptogram }, ...extra });
}
const eventBody = (deviceId: string, seq: number, requestId = uuidv7()) => JSON.stringify({ v: 1, type: 'event', requestId, sentAt: Date.now(), seq, deviceId, kind: 'info' });
const stateBody = (deviceId: string, seq: number) => JSON.stringify({ v: 1, type: 'state', requestId: uuidv7(), sentAt: Date.now(), seq, deviceId, status: 'online' });

interface AdminDevice {
  id: string;
  seq: { lastSeq: number; baselineSeq: number; gaps: number; missing: number; outOfOrder: number; duplicates: number; resends: number; unsequenced: number } | null;
}
async function adminSeq(id: string): Promise<AdminDevice['seq']> {
  const body = (await (await fetch(`${gw.urls.http}/v1/devices`)).json()) as { devices: AdminDevice[] };
  return body.devices.find((d) => d.id === id)!.seq;
}
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${gw.urls.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

describe('per-device seq over MQTT', () => {
  it('reports gaps, out-of-order arrivals, duplicates and resends per device and in total, and resends settle once', async () => {
    const kiosk = device('kiosk-1');
    const client = await connect(kiosk);
    try {
      const inbox: SettleResult[] = [];
      client.on('message', (_t, p) => inbox.push(JSON.parse(p.toString()) as SettleResult));
      await client.subscribeAsync(topics.result(kiosk.id), { qos: 1 });
      await client.publishAsync(topics.state(kiosk.id), stateBody(kiosk.id, 1), { qos: 1, retain: true });
      const settle = settleBody(kiosk.id, 2, { ticket: { validitySec: 3600, uses: 1 } });
      await client.publishAsync(topics.settle(kiosk.id), settle, { qos: 1 });
      await expect.poll(() => inbox.length, { timeout: 5000 }).toBe(1);
      await client.publishAsync(topics.settle(kiosk.id), settle, { qos: 1 }); // the outbox resends the same bytes
      await expect.poll(() => inbox.length, { timeout: 5000 }).toBe(2);
      const lateId = uuidv7();
      await client.publishAsync(topics.event(kiosk.id), eventBody(kiosk.id, 6), { qos: 0 }); // 3, 4, 5 skipped
      await client.publishAsync(topics.event(kiosk.id), eventBody(kiosk.id, 4, lateId), { qos: 0 }); // arrives late
      await client.publishAsync(topics.event(kiosk.id), eventBody(kiosk.id, 4), { qos: 0 }); // seq 4 reused by another message
      await client.publishAsync(topics.event(kiosk.id), eventBody(kiosk.id, 7), { qos: 0 });
      await expect.poll(() => gw.bridge.sequences.view(kiosk.id)?.lastSeq, { timeout: 5000 }).toBe(7);
      expect(await adminSeq(kiosk.id)).toMatchObject({ lastSeq: 7, baselineSeq: 1, gaps: 3, missing: 2, outOfOrder: 1, duplicates: 1, resends: 1 });
      expect(await adminSeq('gate-entry-1')).toBeNull();
      expect(await metric(metricNames.seqGaps)).toBe(3);
      expect(await metric(metricNames.seqMissing)).toBe(2);
      expect(await metric(metricNames.seqOutOfOrder)).toBe(1);
      expect(await metric(metricNames.seqDuplicates)).toBe(1);
      expect(await metric(metricNames.seqResends)).toBe(1);
      expect(await metric(metricNames.seqDevices)).toBe(1);

      // The resend was answered from the journal: one settlement, one ticket, the same bytes.
      expect(JSON.stringify(inbox[1])).toBe(JSON.stringify(inbox[0]));
      const result = inbox[0]!;
      expect(result.status).toBe('approved');
      expect(verifyResultTag(Buffer.from(kiosk.secret, 'base64url'), result)).toBe(true);
      const ticket = result.ticket!;
      expect(gw.issuerPublicKey).toEqual({ keyId: keys.ticketIssuer!.keyId, publicKey: keys.ticketIssuer!.publicKey });
      expect(ticket.keyId).toBe(gw.issuerPublicKey!.keyId);
      expect(verifyEd25519(gw.issuerPublicKey!.publicKey, ticketBytes(ticket), ticket.sig)).toBe(true);
      expect(await gw.core.store.walletTickets(demo.wallets[0]!.walletId, 10)).toHaveLength(1);
    } finally {
      await client.endAsync();
    }
  });

  it('counts the last will as unsequenced and starts a new baseline after a gateway restart', async () => {
    const gate = device('gate-exit-1');
    const first = await connect(gate);
    await first.publishAsync(topics.event(gate.id), eventBody(gate.id, 40), { qos: 1 });
    await expect.poll(() => gw.bridge.sequences.view(gate.id)?.lastSeq, { timeout: 5000 }).toBe(40);
    const will = { topic: topics.state(gate.id), payload: Buffer.from(JSON.stringify({ v: 1, type: 'state', requestId: uuidv7(), sentAt: Date.now(), deviceId: gate.id, status: 'offline' })), qos: 1 as const, retain: true };
    await first.endAsync();
    const second = await mqtt.connectAsync(gw.urls.mqtt, { clientId: gate.id, username: gate.id, password: gate.secret, reconnectPeriod: 0, will });
    second.stream.destroy(); // a cut connection: the broker publishes the will
    await expect.poll(() => gw.bridge.sequences.view(gate.id)?.unsequenced, { timeout: 5000 }).toBe(1);
    second.end(true);

    await gw.close();
    gw = await startGateway(config, keys);
    expect(gw.bridge.sequences.view(gate.id)).toBeUndefined();
    const third = await connect(gate);
    try {
      await third.publishAsync(topics.event(gate.id), eventBody(gate.id, 45), { qos: 1 });
      await expect.poll(() => gw.bridge.sequences.view(gate.id)?.lastSeq, { timeout: 5000 }).toBe(45);
      expect(await adminSeq(gate.id)).toMatchObject({ baselineSeq: 45, gaps: 0, missing: 0 });
      // Something the device sent before the restart and never heard about comes again: a resend, not a duplicate.
      await third.publishAsync(topics.event(gate.id), eventBody(gate.id, 41), { qos: 1 });
      await expect.poll(() => gw.bridge.sequences.view(gate.id)?.resends, { timeout: 5000 }).toBe(1);
      expect(await metric(metricNames.seqDuplicates)).toBe(0);
    } finally {
      await third.endAsync();
    }
  });
});
