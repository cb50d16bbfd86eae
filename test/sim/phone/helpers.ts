/** Talking raw APDUs to a simulated phone, for the tests that check the applet byte by byte. */
import { appletCommands, decodeResponseApdu, encodeCommandApdu, sw } from '../../../protocol/applet.ts';
import type { CommandApdu, ResponseApdu } from '../../../protocol/applet.ts';
import { SimulatedPhone } from '../../../sim/phone/phone.ts';
import type { SimulatedPhoneOptions } from '../../../sim/phone/phone.ts';
import { walletId, walletKey } from './fixtures.ts';

export async function send(phone: SimulatedPhone, cmd: CommandApdu): Promise<ResponseApdu> {
  return decodeResponseApdu(await phone.transceive(encodeCommandApdu(cmd)));
}

export const sendRaw = async (phone: SimulatedPhone, bytes: number[]): Promise<ResponseApdu> => decodeResponseApdu(await phone.transceive(Uint8Array.from(bytes)));

export const openPhone = (options: Partial<SimulatedPhoneOptions> = {}): Promise<SimulatedPhone> =>
  SimulatedPhone.open({ walletId, walletKey, ...options });

/** A phone in the field, activated and with the wallet selected. */
export async function selectedPhone(options: Partial<SimulatedPhoneOptions> = {}): Promise<SimulatedPhone> {
  const phone = await openPhone(options);
  phone.activate();
  const answer = await send(phone, appletCommands.select());
  if (answer.sw !== sw.ok) throw new Error(`SELECT answered ${answer.sw.toString(16)}`);
  return phone;
}
