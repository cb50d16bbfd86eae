/** Device login over real sockets: who gets a session and who gets which CONNACK refusal. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../../protocol/index.ts';
import { connectClient, endClient, openStation } from './harness.ts';
import type { Station } from './harness.ts';

let s: Station;
beforeAll(async () => {
  s = await openStation(['vm-1', 'vm-2', 'vm-gone']);
  s.registry.revoke('vm-gone');
});
afterAll(() => s.close());

const login = (clientId: string, username: string | undefined, password: string | undefined, extra = {}) =>
  connectClient(s.url, { clientId, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}), ...extra });

describe('broker: device login', () => {
  it('accepts a registered device with its secret, its id as username and client id', async () => {
    const r = await login('vm-1', 'vm-1', s.secrets.get('vm-1'));
    expect(r.ok).toBe(true);
    if (r.ok) await endClient(r.client);
  });

  it('refuses unknown, revoked, wrong-key and credential-less clients with "bad user name or password" (4)', async () => {
    const before = s.broker.stats().rejected['bad-credentials'];
    const attempts = [
      login('nobody', 'nobody', s.secrets.get('vm-1')),
      login('vm-gone', 'vm-gone', s.secrets.get('vm-gone')),
      login('vm-1', 'vm-1', s.secrets.get('vm-2')),
      login('vm-1', 'vm-1', 'not-a-secret'),
      login('vm-1', 'vm-1', undefined),
      login('vm-1', undefined, undefined),
      login('Upper', 'Upper', s.secrets.get('vm-1')),
    ];
    for (const r of await Promise.all(attempts)) expect(r).toMatchObject({ ok: false, returnCode: 4 });
    expect(s.broker.stats().rejected['bad-credentials'] - before).toBe(attempts.length);
    expect(s.broker.stats().connections).toBe(0);
  });

  it('refuses a client id that is not the username with "identifier rejected" (2), counted as a breach', async () => {
    const before = s.broker.stats().breachesByAction.connect;
    expect(await login('vm-2', 'vm-1', s.secrets.get('vm-1'))).toMatchObject({ ok: false, returnCode: 2 });
    expect(await login('', 'vm-1', s.secrets.get('vm-1'))).toMatchObject({ ok: false, returnCode: 2 });
    expect(s.broker.stats().breachesByAction.connect - before).toBe(2);
    expect(s.logs.some((l) => l.msg === 'ACL breach: connection closed' && l.reason === 'client-id-mismatch')).toBe(true);
  });

  it('refuses a last will on another device\'s topic with "not authorized" (5), even with the right key', async () => {
    const will = { topic: topics.state('vm-2'), payload: Buffer.from('{}'), qos: 1 as const, retain: true };
    expect(await login('vm-1', 'vm-1', s.secrets.get('vm-1'), { will })).toMatchObject({ ok: false, returnCode: 5 });
    const notState = { topic: topics.settle('vm-1'), payload: Buffer.from('{}'), qos: 1 as const, retain: false };
    expect(await login('vm-1', 'vm-1', s.secrets.get('vm-1'), { will: notState })).toMatchObject({ ok: false, returnCode: 5 });
  });

  it('refuses keepalive 0 (a connection that could stay half-open forever) and one above keepaliveSecMax', async () => {
    for (const keepalive of [0, s.broker.limits.keepaliveSecMax + 1]) {
      const r = await login('vm-1', 'vm-1', s.secrets.get('vm-1'), { keepalive });
      expect(r.ok, `keepalive ${keepalive}`).toBe(false);
    }
  });

  it('a second login with the same id replaces the first session (MQTT-3.1.4-2)', async () => {
    const first = await login('vm-2', 'vm-2', s.secrets.get('vm-2'));
    const second = await login('vm-2', 'vm-2', s.secrets.get('vm-2'));
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) {
      await new Promise<void>((resolve) => (first.client.connected ? first.client.once('close', () => resolve()) : resolve()));
      expect(second.client.connected).toBe(true);
      await endClient(first.client);
      await endClient(second.client);
    }
  });
});
