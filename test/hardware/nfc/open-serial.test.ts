/**
 * The real serial port is optional: nothing but open-serial.ts may load the
 * serialport package, and only when a port is actually opened.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPn532Error } from '../../../hardware/nfc/errors.ts';
import { openPn532ReaderOnSerial, openSerialPort } from '../../../hardware/nfc/open-serial.ts';

const hardwareRoot = join(import.meta.dirname, '../../../hardware');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : Promise.resolve(e.name.endsWith('.ts') ? [join(dir, e.name)] : []))));
  return nested.flat();
}

describe('lazy serialport', () => {
  it('no NFC driver file imports serialport at load time (type imports are erased)', async () => {
    const files = (await sourceFiles(hardwareRoot)).filter((f) => f.includes('nfc'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.toMatch(/^import (?!type )[^;]*from '(serialport|@serialport\/[^']+)'/m);
    }
  });

  it('a port that does not exist gives TS_ERR_SERIAL_UNAVAILABLE naming the path', async () => {
    let thrown: unknown;
    try {
      await openSerialPort('/dev/tapsettle-no-such-port');
    } catch (error) {
      thrown = error;
    }
    expect(isPn532Error(thrown, 'TS_ERR_SERIAL_UNAVAILABLE')).toBe(true);
    expect(String(thrown)).toContain('/dev/tapsettle-no-such-port');
    await expect(openPn532ReaderOnSerial('/dev/tapsettle-no-such-port')).rejects.toMatchObject({ code: 'TS_ERR_SERIAL_UNAVAILABLE' });
  });
});
