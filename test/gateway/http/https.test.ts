/** HTTPS by config: the wallet API over TLS with a certificate the test makes; plain HTTP to it gets nothing. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRequest, tempDir } from '../../settlement-core/fixtures.ts';
import { walletRequestMac } from '../../../protocol/index.ts';
import { proofHeaders, sha256Hex } from '../../../gateway/http/wallet-proof.ts';
import { startHarness } from './harness.ts';
import type { Harness } from './harness.ts';

let h: Harness;
let cert: string;
const certs = tempDir('tapsettle-tls-');

beforeAll(async () => {
  const key = join(certs.dir, 'key.pem');
  const crt = join(certs.dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore', timeout: 20_000 });
  cert = readFileSync(crt, 'utf8');
  h = await startHarness({ tls: { key: readFileSync(key, 'utf8'), cert } });
});
afterAll(async () => {
  await h.close();
  certs.cleanup();
});

function tlsCall(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${h.base}${path}`, { method, headers, ca: cert, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTPS', () => {
  it('serves the wallet API and admin routes over TLS, verified against the test CA', async () => {
    expect(h.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await tlsCall('GET', '/healthz', {})).toEqual({ status: 200, text: '{"status":"ok"}' });
    const w = h.station.wallets[0]!;
    const path = `/v1/wallets/${w.walletId}/statement`;
    const mac = walletRequestMac(w.walletKey, { walletId: w.walletId, counter: 1, method: 'GET', path, bodySha256: sha256Hex('') });
    const statement = await tlsCall('GET', path, { [proofHeaders.counter]: '1', [proofHeaders.mac]: mac });
    expect(statement.status).toBe(200);
    expect(JSON.parse(statement.text)).toMatchObject({ walletId: w.walletId, account: w.account });
    const settle = await tlsCall('POST', '/v1/settle', { 'content-type': 'application/json' }, JSON.stringify(makeRequest(h.station, w, { amount: 5 })));
    expect(JSON.parse(settle.text)).toMatchObject({ status: 'approved' });
  });

  it('refuses a client that does not trust the certificate, and plain HTTP gets no answer', async () => {
    await expect(new Promise((resolve, reject) => {
      const req = httpsRequest(`${h.base}/healthz`, { agent: false }, resolve);
      req.on('error', reject);
      req.end();
    })).rejects.toThrow(/self.signed|certificate/i);
    const plain = h.base.replace('https://', 'http://');
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${plain}/healthz`, { agent: false, timeout: 5000 }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.on('timeout', () => {
        req.destroy();
        resolve('timeout');
      });
      req.end();
    });
    expect(outcome).not.toBe('status 200');
  });
});
