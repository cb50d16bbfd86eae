/**
 * The NfcReader contract against the real PN532 reader driver
 * (hardware/nfc/pn532-reader.ts) over a @serialport/binding-mock port to the
 * virtual PN532, with the chip's timing model off (unit speed) and on (what a
 * station sees: UART byte times, activation and RF timeouts).
 */
import { Pn532Reader } from '../../../hardware/nfc/pn532-reader.ts';
import { openMockSerialPort } from '../../../sim/pn532/mock-port.ts';
import { realisticTiming, timingOff } from '../../../sim/pn532/timing.ts';
import type { Pn532Timing } from '../../../sim/pn532/timing.ts';
import { VirtualPn532 } from '../../../sim/pn532/virtual-pn532.ts';
import { nfcReaderContract } from '../contracts/nfc-reader.contract.ts';
import type { NfcReaderHarness } from '../contracts/nfc-reader.contract.ts';

async function pn532OnMockPort(timing: Pn532Timing): Promise<NfcReaderHarness> {
  const chip = new VirtualPn532({ timing }); // asleep, as after power-on: open() must wake it
  const port = await openMockSerialPort(chip);
  // 50 ms: the virtual chip ACKs at once, so a lost ACK shows quickly; the production default is 100.
  const reader = new Pn532Reader(port.stream, { ackTimeoutMs: 50 }, () => port.close());
  await reader.open();
  return { reader, field: chip.field, cleanup: () => reader.close() };
}

nfcReaderContract('PN532 reader → binding-mock port → virtual PN532 (timing off)', () => pn532OnMockPort(timingOff));
nfcReaderContract('PN532 reader → binding-mock port → virtual PN532 (timing at 115200 baud)', () => pn532OnMockPort(realisticTiming(115200)));
