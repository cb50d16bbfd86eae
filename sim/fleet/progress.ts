/** A one-line progress bar on stderr, redrawn at most every `progressRedrawMs`, only when stderr is a terminal. */
export const progressRedrawMs = 200;
const barWidth = 30;

export interface Progress {
  update(what: string, done: number, total: number, detail?: string): void;
  done(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY !== true) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let drawn = false;
  return {
    update(what, done, total, detail = '') {
      const now = performance.now();
      if (now - last < progressRedrawMs && done < total) return;
      last = now;
      const filled = total === 0 ? barWidth : Math.round((done / total) * barWidth);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${what} ${done}/${total} ${detail}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
