import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appletCommands, appletData, sw } from '../../../protocol/applet.ts';
import { counterFileBytesMax, FileCounterStore } from '../../../sim/phone/counter-store.ts';
import { authorizeRequest, otherWalletId, walletId } from './fixtures.ts';
import { openPhone, selectedPhone, send } from './helpers.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tapsettle-phone-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function authorize(phone: Awaited<ReturnType<typeof openPhone>>, n: number): Promise<number> {
  const answer = await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest(n))));
  expect(answer.sw).toBe(sw.ok);
  return appletData.authorizeResponse.decode(answer.data).counter;
}

describe('simulated phone: the counter file', () => {
  it('has the counter on disk before the cryptogram is returned, and leaves no temporary file', async () => {
    const counterFile = join(dir, 'wallet.counter');
    const phone = await selectedPhone({ counterFile });
    const counter = await authorize(phone, 1);
    expect(JSON.parse(await readFile(counterFile, 'utf8'))).toEqual({ v: 1, walletId, counter });
    expect(await readdir(dir)).toEqual(['wallet.counter']);
  });

  it('survives a restart: a new phone on the same file continues strictly above', async () => {
    const counterFile = join(dir, 'wallet.counter');
    const first = await selectedPhone({ counterFile });
    const before = [await authorize(first, 1), await authorize(first, 2), await authorize(first, 3)];
    first.remove();
    const second = await selectedPhone({ counterFile });
    const after = [await authorize(second, 4), await authorize(second, 5)];
    const all = [...before, ...after];
    all.slice(1).forEach((c, i) => expect(c).toBeGreaterThan(all[i]!));
    expect(after[0]).toBe(4);
  });

  it('starts from initialCounter only while there is no file yet', async () => {
    const counterFile = join(dir, 'wallet.counter');
    expect(await authorize(await selectedPhone({ counterFile, initialCounter: 50 }), 1)).toBe(51);
    expect(await authorize(await selectedPhone({ counterFile, initialCounter: 0 }), 2)).toBe(52);
  });

  it("refuses another wallet's file, a malformed file and an oversized one", async () => {
    const counterFile = join(dir, 'wallet.counter');
    await writeFile(counterFile, JSON.stringify({ v: 1, walletId: otherWalletId, counter: 3 }));
    await expect(openPhone({ counterFile })).rejects.toMatchObject({ code: 'TS_ERR_PHONE_COUNTER_FILE' });
    await writeFile(counterFile, '{"v":1,');
    await expect(openPhone({ counterFile })).rejects.toMatchObject({ code: 'TS_ERR_PHONE_COUNTER_FILE' });
    await writeFile(counterFile, JSON.stringify({ v: 1, walletId, counter: -4 }));
    await expect(openPhone({ counterFile })).rejects.toMatchObject({ code: 'TS_ERR_PHONE_COUNTER_FILE' });
    await writeFile(counterFile, ' '.repeat(counterFileBytesMax + 1));
    await expect(new FileCounterStore(counterFile, walletId).load()).rejects.toThrow(/larger than/);
  });

  it('answers 6F00 and returns no cryptogram when the counter cannot be written', async () => {
    const counterFile = join(dir, 'missing-dir', 'wallet.counter');
    const phone = await selectedPhone({ counterFile });
    const answer = await send(phone, appletCommands.authorizePurchase(appletData.authorizeCommand.encode(authorizeRequest())));
    expect(answer).toEqual({ data: new Uint8Array(0), sw: sw.unknown });
    expect(phone.counter).toBe(0);
  });
});
