/**
 * The link with no broker at all (a closed port): a settle is durable at
 * once, its wait times out without dropping it, a full outbox refuses new
 * sales with a code, and close() rejects waiters but keeps the entries.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../protocol/index.ts';
import { DeviceLink } from '../../../firmware-hosts/runtime/link.ts';
import { seededRandom } from '../../../firmware-hosts/runtime/backoff.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import { quickBackoff, settleDraft } from './link-fixtures.ts';

let t: ReturnType<typeof tempDir>;
let deadUrl: string;
beforeAll(async () => {
  t = tempDir('tapsettle-link-off-');
  // A port that was just free and is closed again: connects are refused.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  deadUrl = `mqtt://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 1}`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(() => t.cleanup());

const wallet = { walletId: uuidv7(), walletKey: randomBytes(32).toString('base64') };
const open = (dataDir: string) =>
  DeviceLink.open({ url: deadUrl, deviceId: 'pos-1', secret: randomBytes(32).toString('base64url'), dataDir, backoff: quickBackoff, random: seededRandom(1), outbox: { entriesMax: 2 } });

describe('DeviceLink without a broker', () => {
  it('times out a wait without dropping the entry, refuses when full, and keeps entries across close', async () => {
    const dataDir = join(t.dir, 'pos-1');
    const link = open(dataDir);
    const draft = settleDraft('pos-1', '001-0000001', wallet, 10);
    await expect(link.settle(draft, 50)).rejects.toMatchObject({ code: 'TS_ERR_LINK_TIMEOUT' });
    expect(link.outbox.pending().map((e) => e.id)).toEqual([draft.requestId]);
    const second = link.settle(settleDraft('pos-1', '001-0000001', wallet, 20), 60_000);
    expect(link.state()).toMatchObject({ connected: false, outboxDepth: 2, outboxFull: true });
    expect(() => link.settle(settleDraft('pos-1', '001-0000001', wallet, 30))).toThrow(expect.objectContaining({ code: 'TS_ERR_OUTBOX_FULL' }));
    await expect.poll(() => link.state().stats.connects === 0 && link.outbox.depth === 2).toBe(true);
    await link.close();
    await expect(second).rejects.toMatchObject({ code: 'TS_ERR_RUNTIME_CLOSED' });
    const again = open(dataDir);
    expect(again.outbox.depth).toBe(2);
    expect(again.outbox.isFull).toBe(true);
    await again.close();
  });

  it('close() does not wait for a broker that accepts TCP but never answers CONNECT', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 1;
    const link = DeviceLink.open({ url: `mqtt://127.0.0.1:${port}`, deviceId: 'pos-3', secret: randomBytes(32).toString('base64url'), dataDir: join(t.dir, 'pos-3'), limits: { connectTimeoutMs: 60_000 } });
    try {
      await expect.poll(() => sockets.length).toBe(1);
      const started = Date.now();
      await link.close();
      // Well under connectTimeoutMs: the pending handshake was abandoned.
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('names a bad option', () => {
    expect(() => DeviceLink.open({ url: deadUrl, deviceId: 'Bad Id', secret: 'x', dataDir: join(t.dir, 'bad') })).toThrow(RangeError);
    expect(() => DeviceLink.open({ url: deadUrl, deviceId: 'pos-2', secret: randomBytes(32).toString('base64url'), dataDir: join(t.dir, 'bad2'), limits: { inFlightMax: 0 } })).toThrow(/limits\.inFlightMax/);
  });
});
