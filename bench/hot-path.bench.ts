/**
 * npm run bench:hot-path [-- --json]
 *
 * What one settle request costs the engine outside the database, step by
 * step, beside the reference measured in the same run: JSON.parse of the same
 * body (the least any server must do with it).
 */
import { randomBytes } from 'node:crypto';
import { decodeMessage, deriveWalletKey, uuidv7, walletCryptogram } from '../protocol/index.ts';
import { requestFingerprint } from '../settlement-core/engine/fingerprint.ts';
import { buildResult } from '../settlement-core/engine/results.ts';
import { machine, option, report, round } from './lib.ts';

const iterations = option('iterations', 50_000);
const master = randomBytes(32);
const walletId = uuidv7();
const purchase = { merchant: '900-0000001', amount: { minor: 250, currency: 'EUR' }, article: 'cola-330', quantity: 1 };
const deviceNonce = randomBytes(16).toString('hex');
const walletKey = deriveWalletKey(master, walletId);
const auth = { walletId, deviceId: 'dev-1', purchase, deviceNonce, counter: 1 };
const json = JSON.stringify({ v: 1, type: 'settle', requestId: uuidv7(), sentAt: Date.now(), deviceId: 'dev-1', purchase, wallet: { walletId, counter: 1, deviceNonce, cryptogram: walletCryptogram(walletKey, auth) } });
const decoded = decodeMessage('settle', json);
if (!decoded.ok) throw new Error(`benchmark body does not decode: ${decoded.message}`);
const walletIds = Array.from({ length: 1000 }, () => uuidv7());

function microseconds(fn: (i: number) => unknown): number {
  for (let i = 0; i < 2000; i += 1) fn(i);
  const started = performance.now();
  for (let i = 0; i < iterations; i += 1) fn(i);
  return ((performance.now() - started) * 1000) / iterations;
}

const reference = microseconds(() => JSON.parse(json));
const steps = {
  decodeUs: microseconds(() => decodeMessage('settle', json)),
  fingerprintUs: microseconds(() => requestFingerprint(decoded.value)),
  walletKeyUs: microseconds((i) => deriveWalletKey(master, walletIds[i % walletIds.length]!)),
  cryptogramUs: microseconds(() => walletCryptogram(walletKey, auth)),
  resultUs: microseconds(() => buildResult(walletKey, { deviceId: 'dev-1', requestId: decoded.value.requestId, status: 'approved', amount: purchase.amount }, Date.now())),
};
const totalUs = Object.values(steps).reduce((a, b) => a + b, 0);
report('settle hot path outside the database (µs per request)', {
  machine: machine(),
  iterations,
  jsonParseUs: round(reference, 2),
  ...Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, round(v, 2)])),
  totalUs: round(totalUs, 2),
  ratioToJsonParse: round(totalUs / reference, 1),
});
