/**
 * Small files that must be whole after a power cut (the applied config):
 * written to a temp file, fsynced, renamed over the old one, and the
 * directory fsynced so the rename itself is on disk.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

function fsyncPath(path: string, flags: 'r' | 'w', data?: string): void {
  const fd = openSync(path, flags);
  try {
    if (data !== undefined) writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileDurable(path: string, data: string): void {
  const tmp = `${path}.tmp`;
  fsyncPath(tmp, 'w', data);
  renameSync(tmp, path);
  fsyncPath(dirname(path), 'r');
}
