import { describe, expect, it } from 'vitest';
import { SimDigitalInput } from '../../../sim/gpio/sim-digital-input.ts';
import { SimRelay, simRelayHistoryLengthMax } from '../../../sim/gpio/sim-relay.ts';
import { digitalInputContract } from '../../hardware/contracts/digital-input-contract.ts';
import { relayContract } from '../../hardware/contracts/relay-contract.ts';
import { nextEvent } from '../../hardware/contracts/wait.ts';

relayContract('SimRelay (in memory)', (options) => {
  const relay = new SimRelay(options);
  return Promise.resolve({ relay, energised: () => relay.energised, cleanup: () => Promise.resolve(relay.dispose()) });
});

digitalInputContract('SimDigitalInput (in memory)', (options) => {
  const input = new SimDigitalInput({ name: options.name, kind: options.kind, debounceMs: options.debounceMs, initial: options.initialActive });
  return Promise.resolve({ input, drive: (active) => input.set(active), cleanup: () => Promise.resolve(input.dispose()) });
});

describe('SimRelay', () => {
  it('keeps a bounded history of transitions', () => {
    const relay = new SimRelay({ name: 'spiral', pulseMsMax: 100 });
    for (let i = 0; i < simRelayHistoryLengthMax; i += 1) {
      relay.open();
      relay.close();
    }
    const history = relay.history();
    expect(history).toHaveLength(simRelayHistoryLengthMax);
    expect(history.at(-1)?.state).toBe('closed');
    relay.dispose();
  });
});

describe('SimDigitalInput', () => {
  it('pulse() reads as one activation and release', async () => {
    const drop = new SimDigitalInput({ name: 'drop', kind: 'drop-sensor', debounceMs: 5, initial: false });
    const active = nextEvent<[boolean]>(drop, 'change');
    const pulsed = drop.pulse(30);
    expect(await active).toEqual([true]);
    await pulsed;
    expect(await nextEvent(drop, 'change')).toEqual([false]);
    drop.dispose();
  });

  it('settles a running pulse on dispose and refuses absurd pulses', async () => {
    const beam = new SimDigitalInput({ name: 'beam', kind: 'passage-sensor', initial: false });
    expect(() => beam.pulse(0)).toThrow(expect.objectContaining({ code: 'TS_ERR_GPIO_BAD_OPTION' }));
    const pulsed = beam.pulse(5_000);
    beam.dispose();
    await pulsed;
    expect(beam.value).toBe(false);
  });
});
