/**
 * The device link against our own gateway over real sockets: a verified
 * round trip, a device killed mid-flight and restarted (same requestId, same
 * bytes, one settlement), the gateway restarted while the device waits, and a
 * forged result that is never acted on.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultTag, topics, verifyResultTag } from '../../../protocol/index.ts';
import type { SettleResult } from '../../../protocol/index.ts';
import { parseGatewayConfig } from '../../../gateway/config.ts';
import { startGateway } from '../../../gateway/gateway.ts';
import type { GatewayKeys, RunningGateway } from '../../../gateway/gateway.ts';
import type { DemoCredentials } from '../../../gateway/demo-seed.ts';
import { DeviceLink } from '../../../firmware-hosts/runtime/link.ts';
import { seededRandom } from '../../../firmware-hosts/runtime/backoff.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import { quickBackoff, settleDraft } from './link-fixtures.ts';

let t: ReturnType<typeof tempDir>;
let gw: RunningGateway;
let demo: DemoCredentials;
let mqttPort: number;
const keys: GatewayKeys = { issuerMasterKey: randomBytes(32), deviceMasterKey: randomBytes(32) };
const start = (port: number) =>
  startGateway(parseGatewayConfig({ data: join(t.dir, 'gw'), mqtt: { port }, http: { port: 0 }, log: { level: 'silent' } }), keys);

beforeAll(async () => {
  t = tempDir('tapsettle-link-gw-');
  gw = await start(0);
  demo = gw.demo!;
  mqttPort = Number(new URL(gw.urls.mqtt).port);
});
afterAll(async () => {
  await gw.close();
  t.cleanup();
});

const device = (id: string) => demo.devices.find((d) => d.id === id)!;
let dirs = 0;
function openLink(id: string, dataDir = join(t.dir, `dev-${(dirs += 1)}`)): DeviceLink {
  return DeviceLink.open({ url: `mqtt://127.0.0.1:${mqttPort}`, deviceId: id, secret: device(id).secret, dataDir, backoff: quickBackoff, random: seededRandom(7) });
}
const connected = (link: DeviceLink) => new Promise<void>((resolve) => (link.connected ? resolve() : link.once('connected', resolve)));

describe('DeviceLink against the gateway', () => {
  it('settles with a verified result and clears the outbox', async () => {
    const vm = device('vending-1');
    const link = openLink(vm.id);
    try {
      const result = await link.settle(settleDraft(vm.id, demo.merchant, demo.wallets[0]!, 150));
      expect(result).toMatchObject({ status: 'approved', amount: { minor: 150, currency: 'EUR' } });
      expect(verifyResultTag(Buffer.from(vm.secret, 'base64url'), result)).toBe(true);
      expect(link.outbox.depth).toBe(0);
      const ack = await link.outcome({ settleRequestId: result.requestId, outcome: 'dispensed' });
      expect(ack).toMatchObject({ status: 'applied', settleRequestId: result.requestId });
      expect(link.outbox.depth).toBe(0);
      expect(link.state()).toMatchObject({ connected: true, outboxFull: false });
    } finally {
      await link.close();
    }
  });

  it('a device killed before the answer resends the same bytes after restart and is settled once', async () => {
    const gate = device('gate-exit-1');
    const wallet = demo.wallets[1]!;
    const before = (await gw.core.store.getAccount(wallet.account))!.balance;
    const dataDir = join(t.dir, 'killed');
    const first = openLink(gate.id, dataDir);
    await connected(first);
    const sent: string[] = [];
    first.on('published', (p) => sent.push(p.body));
    const draft = settleDraft(gate.id, demo.merchant, wallet, 90);
    // Killed the moment the broker has the request: its answer finds nobody listening.
    const killed = new Promise<void>((resolve) => first.once('published', () => resolve(first.abort())));
    const lost = first.settle(draft).catch((err: { code?: string }) => err.code);
    await killed;
    expect(await lost).toBe('TS_ERR_RUNTIME_CLOSED');
    // The core settled and answered while the device was dead.
    await expect.poll(async () => (await gw.core.store.getJournalEntry({ deviceId: gate.id, requestId: draft.requestId }))?.state).toBeDefined();

    const second = openLink(gate.id, dataDir);
    try {
      expect(second.outbox.pending().map((e) => e.id)).toEqual([draft.requestId]);
      second.on('published', (p) => sent.push(p.body));
      const result = (await second.answer(draft.requestId)) as SettleResult;
      expect(result).toMatchObject({ requestId: draft.requestId, status: 'approved' });
      expect(sent.length).toBeGreaterThanOrEqual(2);
      expect(new Set(sent).size).toBe(1);
      expect(second.outbox.depth).toBe(0);
      expect((await gw.core.store.getAccount(wallet.account))!.balance).toBe(before - 90);
    } finally {
      await second.close();
    }
  });

  it('waits through a gateway restart on the same data dir, reconnects with backoff and gets its answer', async () => {
    const kiosk = device('kiosk-1');
    const link = openLink(kiosk.id);
    try {
      await connected(link);
      await gw.close();
      await expect.poll(() => link.connected).toBe(false);
      const pending = link.settle(settleDraft(kiosk.id, demo.merchant, demo.wallets[0]!, 70), 20_000);
      expect(link.outbox.depth).toBe(1);
      gw = await start(mqttPort);
      const result = await pending;
      expect(result.status).toBe('approved');
      expect(link.stats.connects).toBeGreaterThanOrEqual(2);
      expect(link.outbox.depth).toBe(0);
    } finally {
      await link.close();
    }
  });

  it('drops a result whose tag does not verify and acts only on the genuine one', async () => {
    const vm = device('vending-1');
    const link = openLink(vm.id);
    try {
      await connected(link);
      const draft = settleDraft(vm.id, demo.merchant, demo.wallets[0]!, 40);
      const forged = { v: 1, type: 'result', requestId: draft.requestId, sentAt: Date.now(), deviceId: vm.id, status: 'declined', reason: 'insufficient-funds', amount: { minor: 40, currency: 'EUR' } } as const;
      // Tagged under a key that is not the device's: what a rogue publisher can do at best.
      const tag = resultTag(randomBytes(32), forged);
      await gw.broker.publish(topics.result(vm.id), JSON.stringify({ ...forged, tag }), { qos: 1, retain: false });
      await expect.poll(() => link.stats.rejected['bad-tag']).toBe(1);
      const result = await link.settle(draft);
      expect(result.status).toBe('approved');
      expect(verifyResultTag(Buffer.from(vm.secret, 'base64url'), result)).toBe(true);
    } finally {
      await link.close();
    }
  });
});
