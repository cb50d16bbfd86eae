/** docs/protocol.md must stay true: its example verifies, its tables name every code, channel and domain. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canonicalBytes,
  channels,
  decodeMessage,
  deriveDeviceKey,
  deriveWalletKey,
  domains,
  purchaseBytes,
  reasonCodes,
  verifyResultTag,
  verifyWalletCryptogram,
} from '../../protocol/index.ts';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');

/** The bodies of the ```lang blocks after `marker`, in order. */
function blocksAfter(marker: string, lang: string): string[] {
  const start = doc.indexOf(marker);
  expect(start, `docs/protocol.md has no "${marker}"`).toBeGreaterThanOrEqual(0);
  const fence = '```';
  return [...doc.slice(start).matchAll(new RegExp(`${fence}${lang}\\n([\\s\\S]*?)${fence}`, 'g'))].map((m) => m[1]!);
}

/** Hex dump lines "01 00000002 6162      annotation" → bytes (the annotation follows two or more spaces). */
function hexDump(block: string): Buffer {
  const hex = block.trim().split('\n').map((line) => line.trim().split(/\s{2,}/)[0]!.replaceAll(' ', '')).join('');
  expect(hex).toMatch(/^([0-9a-f]{2})+$/);
  return Buffer.from(hex, 'hex');
}

describe('docs/protocol.md', () => {
  it('lists every reason code, channel and domain', () => {
    for (const code of reasonCodes) expect(doc, code).toContain(`| \`${code}\` |`);
    for (const channel of channels) expect(doc, channel).toContain(`| \`tapsettle/v1/dev/{d}/${channel}\` |`);
    for (const domain of Object.values(domains)) expect(doc, domain).toContain(`\`${domain}\``);
  });

  it('the small canonical example is what canonicalBytes produces', () => {
    const [block] = blocksAfter('Small example', 'text');
    expect(hexDump(block!).equals(canonicalBytes('d', ['ab', 1, null, new Uint8Array([0xff]), -1]))).toBe(true);
  });

  it('the worked example verifies: derived keys, purchase bytes, cryptogram, result tags', () => {
    const section = '## 10. Worked example';
    const issuerMasterKey = Buffer.alloc(32, 0x11);
    const deviceMasterKey = Buffer.alloc(32, 0x22);
    const [request, approved, declined, ...rest] = blocksAfter(section, 'json');
    expect(rest).toEqual([]);

    const req = decodeMessage('settle', request!);
    if (!req.ok) throw new Error(`worked example request does not decode: ${req.message}`);
    const { walletId, counter, deviceNonce, cryptogram } = req.value.wallet;
    const walletKey = deriveWalletKey(issuerMasterKey, walletId);
    const deviceKey = deriveDeviceKey(deviceMasterKey, req.value.deviceId);
    expect(doc).toContain(`walletKey = ${walletKey.toString('hex')}`);
    expect(doc).toContain(`deviceKey = ${deviceKey.toString('hex')}`);

    const auth = { walletId, deviceId: req.value.deviceId, purchase: req.value.purchase, deviceNonce, counter };
    const [dump] = blocksAfter('canonical purchase bytes', 'text');
    expect(hexDump(dump!).equals(purchaseBytes(auth))).toBe(true);
    expect(doc).toContain(`canonical purchase bytes (§7), ${purchaseBytes(auth).byteLength} bytes`);
    expect(verifyWalletCryptogram(walletKey, auth, cryptogram)).toBe(true);

    for (const [text, status] of [[approved, 'approved'], [declined, 'declined']] as const) {
      const result = decodeMessage('result', text!);
      if (!result.ok) throw new Error(`worked example ${status} result does not decode: ${result.message}`);
      expect(result.value.status).toBe(status);
      expect(result.value.requestId).toBe(req.value.requestId);
      expect(result.value.deviceId).toBe(req.value.deviceId);
      expect(verifyResultTag(deviceKey, result.value)).toBe(true);
    }
  });
});
