/** Abortable waits for the virtual chip: a host ACK or a new command aborts whatever the chip is doing. */

export class ChipAbortedError extends Error {
  override readonly name = 'ChipAbortedError';
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new ChipAbortedError('command aborted by the host');
}

/** Resolves after ms (at once for 0, the timing model's "off"), rejects when signal aborts first. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ChipAbortedError('command aborted by the host'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settles like `promise`, or rejects with ChipAbortedError when signal aborts first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new ChipAbortedError('command aborted by the host'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
