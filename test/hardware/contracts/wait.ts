/** Test waits, each bounded: a contract test must fail, not hang, when an event never comes. */

/** Longest any contract test waits for one expected event: generous for a loaded CI machine, far under the test timeout. */
export const eventWaitMsMax = 2_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Listenable<A extends unknown[]> {
  on(event: string, listener: (...args: A) => void): unknown;
  off(event: string, listener: (...args: A) => void): unknown;
}

/** Resolves with the first arguments of `event`, rejects after timeoutMs. */
export function nextEvent<A extends unknown[]>(emitter: Listenable<A>, event: string, timeoutMs = eventWaitMsMax): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: A): void => {
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Polls `condition` every few ms until true; rejects after timeoutMs. */
export async function until(condition: () => boolean, timeoutMs = eventWaitMsMax, what = 'condition'): Promise<void> {
  const pollMs = 2;
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/** Records every emission of `event` until stopped. */
export function record<T>(emitter: { on(event: string, listener: (value: T) => void): unknown }, event: string): T[] {
  const seen: T[] = [];
  emitter.on(event, (value: T) => seen.push(value));
  return seen;
}
