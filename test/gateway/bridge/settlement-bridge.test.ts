import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics, uuidv7, verifyOutcomeAckTag, verifyResultTag } from '../../../protocol/index.ts';
import type { OutcomeAck, SettleResult } from '../../../protocol/index.ts';
import type { SettlementCore } from '../../../settlement-core/index.ts';
import { SettlementBridge } from '../../../gateway/bridge/settlement-bridge.ts';
import type { BridgeBroker } from '../../../gateway/bridge/settlement-bridge.ts';
import { Clock, deviceKey, makeRequest, openCore, seedStation, tempDir } from '../../settlement-core/fixtures.ts';
import type { Station } from '../../settlement-core/fixtures.ts';

/** The broker as the bridge sees it, in memory: deliver() plays a device publishing. */
class FakeBroker implements BridgeBroker {
  readonly published: { topic: string; payload: string }[] = [];
  private readonly handlers = new Map<string, (deviceId: string, payload: Buffer) => void>();
  private waiters: (() => void)[] = [];
  onMessage(channel: 'settle' | 'outcome', handler: (deviceId: string, payload: Buffer) => void): () => void {
    this.handlers.set(channel, handler);
    return () => this.handlers.delete(channel);
  }
  publish(topic: string, payload: string | Buffer): Promise<void> {
    this.published.push({ topic, payload: payload.toString() });
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve();
  }
  deliver(channel: 'settle' | 'outcome', deviceId: string, body: unknown): void {
    this.handlers.get(channel)?.(deviceId, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
  }
  async next(count: number): Promise<void> {
    while (this.published.length < count) await new Promise<void>((r) => this.waiters.push(r));
  }
}

const quiet = { warn: () => undefined, error: () => undefined };
let t: ReturnType<typeof tempDir>;
let core: SettlementCore;
let s: Station;
let broker: FakeBroker;
let bridge: SettlementBridge;
let phones: { walletId: string; json: string }[];

beforeEach(async () => {
  t = tempDir();
  const clock = new Clock();
  core = await openCore(`${t.dir}/ledger.db`, { clock: clock.read });
  s = await seedStation(core, clock, [{ balance: 1000 }]);
  broker = new FakeBroker();
  phones = [];
  bridge = new SettlementBridge({ core, broker, log: quiet, wallets: { publish: (walletId, json) => phones.push({ walletId, json }) } });
  bridge.start();
});
afterEach(async () => {
  bridge.stop();
  await core.close();
  t.cleanup();
});

describe('settlement bridge', () => {
  it('answers a settle on the device result topic with a verifiable tag, and tells the phone (claim 12)', async () => {
    const req = makeRequest(s, s.wallets[0]!, { amount: 300, outcomeDeadlineSec: 30 });
    broker.deliver('settle', s.device, req);
    await broker.next(1);
    const [msg] = broker.published;
    expect(msg!.topic).toBe(topics.result(s.device));
    const result = JSON.parse(msg!.payload) as SettleResult;
    expect(result).toMatchObject({ status: 'approved', requestId: req.requestId });
    expect(verifyResultTag(deviceKey(s.device), result)).toBe(true);
    expect(phones).toEqual([{ walletId: req.wallet.walletId, json: msg!.payload }]);

    broker.deliver('settle', s.device, req);
    await broker.next(2);
    expect(broker.published[1]!.payload).toBe(msg!.payload);

    broker.deliver('outcome', s.device, { v: 1, type: 'outcome', requestId: uuidv7(), sentAt: s.clock.now, deviceId: s.device, settleRequestId: req.requestId, outcome: 'dispensed' });
    await broker.next(3);
    const ack = JSON.parse(broker.published[2]!.payload) as OutcomeAck;
    expect(ack).toMatchObject({ type: 'outcome-ack', status: 'applied' });
    expect(verifyOutcomeAckTag(deviceKey(s.device), ack)).toBe(true);
    expect(bridge.stats).toMatchObject({ settles: 2, outcomes: 1, dropped: 0 });
  });

  it('answers a keyed bad request with a coded decline and drops what it cannot key, staying up', async () => {
    const req = makeRequest(s, s.wallets[0]!);
    broker.deliver('settle', s.device, { ...req, surprise: true });
    await broker.next(1);
    expect(JSON.parse(broker.published[0]!.payload)).toMatchObject({ status: 'declined', reason: 'unknown-field' });
    broker.deliver('settle', s.device, '{"half":');
    broker.deliver('outcome', s.device, 'null');
    broker.deliver('settle', s.device, makeRequest(s, s.wallets[0]!));
    await broker.next(2);
    expect(bridge.stats.dropped).toBe(2);
    expect(JSON.parse(broker.published[1]!.payload)).toMatchObject({ status: 'approved' });
  });
});
