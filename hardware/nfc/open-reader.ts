/**
 * Chooses the NFC reader by a string in config (DESIGN §8), loading the
 * driver only when it is chosen:
 *
 * - `pn532-uart`: a PN532 on a serial device (serialport imported lazily);
 * - `pn532-stream`: the PN532 driver on a stream the caller opened — the
 *   station passes a mock port whose far end is the virtual PN532, so the
 *   real driver code runs against the simulated chip;
 * - `instance`: an NfcReader built elsewhere (the in-memory SimNfcReader of
 *   sim/, which hardware/ may not import).
 */
import type { Duplex } from 'node:stream';
import type { NfcReader } from '../nfc-reader.ts';
import { Pn532Error } from './errors.ts';
import type { Pn532ReaderOptions } from './pn532-reader.ts';

export const nfcDriverNames = ['pn532-uart', 'pn532-stream', 'instance'] as const;
export type NfcDriverName = (typeof nfcDriverNames)[number];

export type NfcReaderConfig =
  | { driver: 'pn532-uart'; path: string; baudRate?: number; options?: Pn532ReaderOptions }
  | { driver: 'pn532-stream'; stream: Duplex; close?: () => Promise<void>; options?: Pn532ReaderOptions }
  | { driver: 'instance'; reader: NfcReader };

export async function openNfcReader(config: NfcReaderConfig): Promise<NfcReader> {
  switch (config.driver) {
    case 'pn532-uart': {
      const { openPn532ReaderOnSerial } = await import('./open-serial.ts');
      return openPn532ReaderOnSerial(config.path, { ...config.options, ...(config.baudRate !== undefined ? { baudRate: config.baudRate } : {}) });
    }
    case 'pn532-stream': {
      const [{ Pn532Reader }, { openedReader }] = await Promise.all([import('./pn532-reader.ts'), import('./open-serial.ts')]);
      return openedReader(new Pn532Reader(config.stream, config.options ?? {}, config.close));
    }
    case 'instance':
      return config.reader;
    default: {
      const driver: unknown = (config as { driver?: unknown }).driver;
      throw new Pn532Error('TS_ERR_NFC_DRIVER_UNKNOWN', `nfc.driver must be one of ${nfcDriverNames.join(', ')}, got ${JSON.stringify(driver)}`);
    }
  }
}
