import { describe, expect, it } from 'vitest';
import { appletCommands, decodeResponseApdu, encodeCommandApdu, sw } from '../../../protocol/applet.ts';
import { DirectTransport, directExchangeTimeoutMsMax } from '../../../sim/phone/direct-transport.ts';
import { openPhone } from './helpers.ts';

const select = encodeCommandApdu(appletCommands.select());

describe('direct transport: a reader without a chip', () => {
  it('activates the phone as a reader would report it and carries APDUs both ways', async () => {
    const phone = await openPhone();
    const transport = new DirectTransport(phone);
    const target = transport.activate();
    expect(target).toMatchObject({ sak: 0x20, isoDep: true });
    expect(target.uid).toHaveLength(4);
    expect(decodeResponseApdu(await transport.exchange(select, { timeoutMs: 100 })).sw).toBe(sw.ok);
  });

  it('reports what a reader reports: no target after release, target lost once the phone is gone', async () => {
    const phone = await openPhone();
    const transport = new DirectTransport(phone);
    transport.activate();
    await transport.release();
    await expect(transport.exchange(select, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'TS_ERR_NFC_NO_TARGET' });
    transport.activate();
    phone.remove();
    await expect(transport.exchange(select, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'TS_ERR_NFC_TARGET_LOST' });
  });

  it('refuses a wait that is not a positive whole number of ms up to its limit', async () => {
    const transport = new DirectTransport(await openPhone());
    transport.activate();
    for (const timeoutMs of [0, 1.5, directExchangeTimeoutMsMax + 1]) {
      await expect(transport.exchange(select, { timeoutMs })).rejects.toMatchObject({ code: 'TS_ERR_NFC_OPTION' });
    }
  });
});
