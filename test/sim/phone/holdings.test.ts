import { describe, expect, it } from 'vitest';
import { appletCommands, appletData, appletDataLimits, chainCommand, cla, isMoreData, moreDataBytes, putMode, sw } from '../../../protocol/applet.ts';
import type { CommandApdu, ResponseApdu } from '../../../protocol/applet.ts';
import type { SimulatedPhone } from '../../../sim/phone/phone.ts';
import { admission, otherWalletId, ticket, token } from './fixtures.ts';
import { selectedPhone, send, sendRaw } from './helpers.ts';

/** Sends a command chained in `chunkBytes` pieces; every piece but the last must be acknowledged with 9000. */
async function sendChained(phone: SimulatedPhone, cmd: CommandApdu, chunkBytes = 255): Promise<{ answer: ResponseApdu; apdus: number }> {
  const chunks = chainCommand(cmd, chunkBytes);
  for (const chunk of chunks.slice(0, -1)) expect(await send(phone, chunk)).toEqual({ data: new Uint8Array(0), sw: sw.ok });
  return { answer: await send(phone, chunks.at(-1)!), apdus: chunks.length };
}

/** Sends a command and fetches every 61xx continuation with GET RESPONSE of `ne` bytes. */
async function fetchAll(phone: SimulatedPhone, cmd: CommandApdu, ne = 256): Promise<{ data: Buffer; status: number; rounds: number }> {
  let answer = await send(phone, { ...cmd, ne });
  const parts = [answer.data];
  let rounds = 0;
  while (isMoreData(answer.sw)) {
    expect(answer.data.byteLength).toBe(ne);
    answer = await send(phone, appletCommands.getResponse(Math.min(ne, moreDataBytes(answer.sw))));
    parts.push(answer.data);
    rounds += 1;
  }
  return { data: Buffer.concat(parts), status: answer.sw, rounds };
}

const longTickets = Array.from({ length: 6 }, (_, i) => ticket(i, undefined, `season-ticket-all-zones-${'x'.repeat(36)}-${i}`));

describe('simulated phone: tickets, admission, e-money', () => {
  it('stores tickets sent in a chain longer than one APDU and returns them over GET RESPONSE', async () => {
    const phone = await selectedPhone();
    const { answer, apdus } = await sendChained(phone, appletCommands.putTicket(appletData.tickets.encode(longTickets)));
    expect(answer.sw).toBe(sw.ok);
    expect(apdus).toBeGreaterThan(2);
    const all = await fetchAll(phone, appletCommands.getTicket());
    expect(all.status).toBe(sw.ok);
    expect(all.rounds).toBeGreaterThan(1);
    expect(appletData.tickets.decode(all.data)).toEqual(longTickets);
    expect(phone.holdings.tickets()).toEqual(longTickets);
  });

  it('hands out one ticket by index, and 6A83 past the end', async () => {
    const phone = await selectedPhone();
    await sendChained(phone, appletCommands.putTicket(appletData.tickets.encode(longTickets)));
    const third = await fetchAll(phone, appletCommands.getTicket(2));
    expect(appletData.tickets.decode(third.data)).toEqual([longTickets[2]]);
    expect((await send(phone, appletCommands.getTicket(6))).sw).toBe(sw.recordNotFound);
  });

  it('replaces a ticket with the same id on add, replaces all on replace-all, refuses a 17th', async () => {
    const phone = await selectedPhone();
    const put = (list: ReturnType<typeof ticket>[], mode: number) => sendChained(phone, appletCommands.putTicket(appletData.tickets.encode(list), mode));
    await put([ticket(1), ticket(2)], putMode.add);
    await put([{ ...ticket(1), uses: 9 }], putMode.add);
    expect(phone.holdings.tickets().map((t) => t.uses)).toEqual([3, 9]);
    await put([ticket(3)], putMode.replaceAll);
    expect(phone.holdings.tickets()).toEqual([ticket(3)]);
    const sixteen = Array.from({ length: appletDataLimits.ticketsHeldMax }, (_, i) => ticket(100 + i));
    expect((await put(sixteen, putMode.replaceAll)).answer.sw).toBe(sw.ok);
    expect((await put([ticket(500)], putMode.add)).answer.sw).toBe(sw.notEnoughMemory);
    expect((await put([ticket(500)], 0x07)).answer.sw).toBe(sw.incorrectP1P2);
    expect(phone.holdings.tickets()).toHaveLength(appletDataLimits.ticketsHeldMax);
  });

  it("refuses another wallet's documents with 6A80", async () => {
    const phone = await selectedPhone();
    expect((await sendChained(phone, appletCommands.putTicket(appletData.tickets.encode([ticket(1, otherWalletId)])))).answer.sw).toBe(sw.wrongData);
    expect((await sendChained(phone, appletCommands.putAdmission(appletData.admissions.encode([admission(otherWalletId)])))).answer.sw).toBe(sw.wrongData);
    expect((await sendChained(phone, appletCommands.putEmoney(appletData.emoneyTokens.encode([token(1, otherWalletId)])))).answer.sw).toBe(sw.wrongData);
  });

  it('keeps one admission, returns it, and clears it when an empty list is put', async () => {
    const phone = await selectedPhone();
    expect(appletData.admissions.decode((await fetchAll(phone, appletCommands.getAdmission())).data)).toEqual([]);
    await sendChained(phone, appletCommands.putAdmission(appletData.admissions.encode([admission()])));
    const got = await fetchAll(phone, appletCommands.getAdmission(), 64);
    expect(got.rounds).toBeGreaterThan(0);
    expect(appletData.admissions.decode(got.data)).toEqual([admission()]);
    await sendChained(phone, appletCommands.putAdmission(appletData.admissions.encode([])));
    expect(phone.holdings.admission()).toBeNull();
  });

  it('holds e-money tokens put in a chain and returns them over GET RESPONSE, small chunks both ways', async () => {
    const phone = await selectedPhone();
    const tokens = Array.from({ length: 10 }, (_, i) => token(i));
    expect((await sendChained(phone, appletCommands.putEmoney(appletData.emoneyTokens.encode(tokens)), 40)).answer.sw).toBe(sw.ok);
    const got = await fetchAll(phone, appletCommands.getEmoney(), 50);
    expect(appletData.emoneyTokens.decode(got.data)).toEqual(tokens);
    await sendChained(phone, appletCommands.putEmoney(appletData.emoneyTokens.encode(tokens.slice(3)), putMode.replaceAll));
    expect(phone.holdings.emoney()).toEqual(tokens.slice(3));
  });

  it('drops a chain whose header changes midway (6985), one interrupted, and one that outgrows the limit (6700)', async () => {
    const phone = await selectedPhone();
    const chunks = chainCommand(appletCommands.putTicket(appletData.tickets.encode(longTickets)));
    expect((await send(phone, chunks[0]!)).sw).toBe(sw.ok);
    expect((await send(phone, { ...chunks[1]!, p1: putMode.replaceAll })).sw).toBe(sw.conditionsNotSatisfied);
    expect(phone.holdings.tickets()).toEqual([]);
    // Another command between chunks ends the chain: the last chunk alone is then a fragment, not a ticket list.
    expect((await send(phone, chunks[0]!)).sw).toBe(sw.ok);
    expect((await sendRaw(phone, [0x00, 0xb0, 0, 0, 0])).sw).toBe(sw.insNotSupported);
    expect((await send(phone, chunks.at(-1)!)).sw).toBe(sw.wrongData);
    expect(phone.holdings.tickets()).toEqual([]);
    const chunk = { ...appletCommands.putTicket(new Uint8Array(255).fill(1)), cla: cla.proprietary | cla.chainingBit, ne: null };
    let status: number = sw.ok;
    for (let sent = 0; status === sw.ok && sent <= appletDataLimits.commandDataBytesMax + 255; sent += 255) status = (await send(phone, chunk)).sw;
    expect(status).toBe(sw.wrongLength);
    expect((await send(phone, { ...chunk, data: new Uint8Array(0) })).sw).toBe(sw.wrongLength);
  });

  it('forgets unfetched response data once another command arrives', async () => {
    const phone = await selectedPhone();
    await sendChained(phone, appletCommands.putTicket(appletData.tickets.encode(longTickets)));
    expect(isMoreData((await send(phone, { ...appletCommands.getTicket(), ne: 16 })).sw)).toBe(true);
    expect((await send(phone, appletCommands.getWallet())).sw).toBe(sw.ok);
    expect((await send(phone, appletCommands.getResponse())).sw).toBe(sw.conditionsNotSatisfied);
  });
});
