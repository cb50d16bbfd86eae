/**
 * The gateway end to end, over real sockets: a device (mqtt.js, then
 * Mosquitto's own clients) settles through the broker, the bridge and the
 * core on SQLite, and gets a result it can verify; the phone's result stream
 * hears about it too (claim 12).
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits, topics, uuidv7, verifyOutcomeAckTag, verifyResultTag, walletCryptogram } from '../../protocol/index.ts';
import type { OutcomeAck, Purchase, SettleResult } from '../../protocol/index.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/gateway.ts';
import type { RunningGateway } from '../../gateway/gateway.ts';
import type { DemoCredentials } from '../../gateway/demo-seed.ts';
import { tempDir } from '../settlement-core/fixtures.ts';

let t: ReturnType<typeof tempDir>;
let gw: RunningGateway;
let demo: DemoCredentials;
let counter = 100;

beforeAll(async () => {
  t = tempDir('tapsettle-gw-');
  const config = parseGatewayConfig({ data: t.dir, mqtt: { port: 0 }, http: { port: 0 }, log: { level: 'silent' } });
  gw = await startGateway(config, { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) });
  demo = gw.demo!;
});
afterAll(async () => {
  await gw.close();
  t.cleanup();
});

function settleBody(deviceId: string, wallet: DemoCredentials['wallets'][number], minor: number, extra: Record<string, unknown> = {}): string {
  const purchase: Purchase = { merchant: demo.merchant, amount: { minor, currency: 'EUR' }, article: 'cola-330', quantity: 1 };
  const deviceNonce = randomBytes(limits.nonceBytes).toString('hex');
  counter += 1;
  const cryptogram = walletCryptogram(Buffer.from(wallet.walletKey, 'base64'), { walletId: wallet.walletId, deviceId, purchase, deviceNonce, counter });
  return JSON.stringify({ v: 1, type: 'settle', requestId: uuidv7(), sentAt: Date.now(), deviceId, purchase, wallet: { walletId: wallet.walletId, counter, deviceNonce, cryptogram }, ...extra });
}

const device = (id: string) => demo.devices.find((d) => d.id === id)!;

describe('gateway end to end', () => {
  it('settles a vend over MQTT: tagged result, outcome acknowledged, money deposited, phone told', async () => {
    const vm = device('vending-1');
    const ada = demo.wallets[0]!;
    const heard: string[] = [];
    const sub = gw.hub.subscribe(ada.walletId, (json) => heard.push(json));
    expect(sub.ok).toBe(true);
    const client = await mqtt.connectAsync(gw.urls.mqtt, { clientId: vm.id, username: vm.id, password: vm.secret, reconnectPeriod: 0 });
    try {
      const inbox: string[] = [];
      client.on('message', (_topic, payload) => inbox.push(payload.toString()));
      await client.subscribeAsync(topics.result(vm.id), { qos: 1 });
      const body = settleBody(vm.id, ada, 250, { outcomeDeadlineSec: 30 });
      await client.publishAsync(topics.settle(vm.id), body, { qos: 1 });
      await expect.poll(() => inbox.length, { timeout: 5000 }).toBe(1);
      const result = JSON.parse(inbox[0]!) as SettleResult;
      expect(result).toMatchObject({ status: 'approved', amount: { minor: 250, currency: 'EUR' } });
      expect(verifyResultTag(Buffer.from(vm.secret, 'base64url'), result)).toBe(true);
      expect(heard).toEqual([inbox[0]]);

      const outcome = { v: 1, type: 'outcome', requestId: uuidv7(), sentAt: Date.now(), deviceId: vm.id, settleRequestId: result.requestId, outcome: 'dispensed' };
      await client.publishAsync(topics.outcome(vm.id), JSON.stringify(outcome), { qos: 1 });
      await expect.poll(() => inbox.length, { timeout: 5000 }).toBe(2);
      const ack = JSON.parse(inbox[1]!) as OutcomeAck;
      expect(ack).toMatchObject({ type: 'outcome-ack', status: 'applied' });
      expect(verifyOutcomeAckTag(Buffer.from(vm.secret, 'base64url'), ack)).toBe(true);
      expect((await gw.core.store.getJournalEntry({ deviceId: vm.id, requestId: result.requestId }))?.state).toBe('deposited');
      expect((await gw.core.store.getAccount(ada.account))?.balance).toBe(ada.balance - 250);
    } finally {
      if (sub.ok) sub.unsubscribe();
      await client.endAsync();
    }
  });

  it('answers a device that publishes garbage with a coded decline when it can, and keeps serving', async () => {
    const gate = device('gate-exit-1');
    const client = await mqtt.connectAsync(gw.urls.mqtt, { clientId: gate.id, username: gate.id, password: gate.secret, reconnectPeriod: 0 });
    try {
      const inbox: SettleResult[] = [];
      client.on('message', (_t, p) => inbox.push(JSON.parse(p.toString()) as SettleResult));
      await client.subscribeAsync(topics.result(gate.id), { qos: 1 });
      await client.publishAsync(topics.settle(gate.id), '{"not": "a request"', { qos: 1 });
      const keyed = JSON.parse(settleBody(gate.id, demo.wallets[1]!, 100)) as Record<string, unknown>;
      await client.publishAsync(topics.settle(gate.id), JSON.stringify({ ...keyed, extra: true }), { qos: 1 });
      await client.publishAsync(topics.settle(gate.id), settleBody(gate.id, demo.wallets[1]!, 100), { qos: 1 });
      await expect.poll(() => inbox.length, { timeout: 5000 }).toBe(2);
      expect(inbox[0]).toMatchObject({ status: 'declined', reason: 'unknown-field' });
      expect(inbox[1]).toMatchObject({ status: 'approved' });
      expect(gw.bridge.stats.dropped).toBeGreaterThanOrEqual(1);
    } finally {
      await client.endAsync();
    }
  });

  const hasMosquitto = spawnSync('mosquitto_sub', ['--help']).error === undefined;
  if (!hasMosquitto) console.warn('mosquitto_sub/mosquitto_pub not installed: skipping the interop round trip (apt-get install mosquitto-clients)');

  it.skipIf(!hasMosquitto)('settles for a device speaking through mosquitto_pub/mosquitto_sub, using only the documented topics', async () => {
    const kiosk = device('kiosk-1');
    const port = new URL(gw.urls.mqtt).port;
    const auth = ['-h', '127.0.0.1', '-p', port, '-i', kiosk.id, '-u', kiosk.id, '-P', kiosk.secret, '-V', 'mqttv311', '-q', '1', '-c'];
    const run = (cmd: string, args: string[]) => new Promise<string>((resolve, reject) => {
      execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => (err && !stdout ? reject(new Error(`${cmd}: ${err.message} ${stderr}`)) : resolve(stdout)));
    });
    // A persistent session holds the result topic subscription while the same client id publishes.
    await run('mosquitto_sub', [...auth, '-t', topics.result(kiosk.id), '-W', '1']).catch(() => '');
    const body = settleBody(kiosk.id, demo.wallets[0]!, 320);
    await run('mosquitto_pub', [...auth, '-t', topics.settle(kiosk.id), '-m', body]);
    const out = await run('mosquitto_sub', [...auth, '-t', topics.result(kiosk.id), '-C', '1', '-W', '10']);
    const result = JSON.parse(out.trim()) as SettleResult;
    expect(result).toMatchObject({ status: 'approved', requestId: (JSON.parse(body) as { requestId: string }).requestId });
    expect(verifyResultTag(Buffer.from(kiosk.secret, 'base64url'), result)).toBe(true);
  });
});
