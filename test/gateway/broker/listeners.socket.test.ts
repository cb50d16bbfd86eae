/** The TLS listener (with a certificate made here) and MQTT over WebSocket on /mqtt. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../../protocol/index.ts';
import { tempDir } from '../../settlement-core/fixtures.ts';
import { connectClient, connectDevice, endClient, openStation, rawConnection, until } from './harness.ts';
import type { Station } from './harness.ts';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const openssl = hasOpenssl();
if (!openssl) console.warn('skipping the TLS listener tests: openssl is not installed (needed to make a test certificate)');

let s: Station;
let cert: Buffer;
const dir = tempDir('tapsettle-tls-');
beforeAll(async () => {
  let tls: { port: number; key: Buffer; cert: Buffer } | undefined;
  if (openssl) {
    const keyFile = join(dir.dir, 'key.pem');
    const certFile = join(dir.dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    cert = readFileSync(certFile);
    tls = { port: 0, key: readFileSync(keyFile), cert };
  }
  s = await openStation(['kiosk-1'], { ws: { port: 0 }, ...(tls ? { tls } : {}), limits: { tlsHandshakeTimeoutMs: 300 } });
});
afterAll(async () => {
  await s.close();
  dir.cleanup();
});

async function roundTrip(url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const client = await connectDevice(s, 'kiosk-1', extra, url);
  const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
  await client.subscribeAsync(topics.config('kiosk-1'), { qos: 1 });
  await s.broker.publish(topics.config('kiosk-1'), '{"version":1}', { qos: 1, retain: false });
  const body = await got;
  await endClient(client);
  return body;
}

describe('broker listeners', () => {
  it.skipIf(!openssl)('serves MQTT over TLS with the configured certificate; the client verifies it', async () => {
    expect(await roundTrip(`mqtts://127.0.0.1:${s.broker.ports.tls}`, { ca: cert, rejectUnauthorized: true })).toBe('{"version":1}');
    const wrongKey = await connectClient(`mqtts://127.0.0.1:${s.broker.ports.tls}`, { ca: cert, clientId: 'kiosk-1', username: 'kiosk-1', password: 'x'.repeat(43) });
    expect(wrongKey).toMatchObject({ ok: false, returnCode: 4 });
  });

  it.skipIf(!openssl)('closes a TLS socket that never finishes its handshake, and one that speaks plain MQTT', async () => {
    const silent = await rawConnection(s.broker.ports.tls!);
    expect(await silent.closed).toBeLessThan(5000);
    const plain = await rawConnection(s.broker.ports.tls!, Buffer.from([0x10, 0x00]));
    await plain.closed;
    await until(() => s.broker.stats().sockets === 0, 2000, 'no sockets left');
  });

  it('serves MQTT over WebSocket on /mqtt', async () => {
    expect(await roundTrip(`ws://127.0.0.1:${s.broker.ports.ws}/mqtt`)).toBe('{"version":1}');
  });

  it('answers 404 to another path or a plain HTTP request on the WebSocket port', async () => {
    const status = (path: string, upgrade: boolean) => new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.broker.ports.ws, path, headers: upgrade ? { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } : {} });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(await status('/other', true)).toBe(404);
    expect(await status('/mqtt', false)).toBe(404);
  });
});
