/** docs/device-runtime.md lists every error code and every named limit of the runtime. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeErrorCodes } from '../../../firmware-hosts/runtime/errors.ts';
import { outboxDefaults } from '../../../firmware-hosts/runtime/outbox.ts';
import { backoffDefaults } from '../../../firmware-hosts/runtime/backoff.ts';
import { linkDefaults } from '../../../firmware-hosts/runtime/link-options.ts';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/device-runtime.md'), 'utf8');

describe('docs/device-runtime.md', () => {
  it.each([...runtimeErrorCodes])('lists the error code %s in its table', (code) => {
    expect(doc).toContain(`| \`${code}\` |`);
  });

  it.each([...Object.keys(outboxDefaults), ...Object.keys(backoffDefaults), ...Object.keys(linkDefaults)])('documents the limit %s', (name) => {
    expect(doc).toContain(`| \`${name}\` |`);
  });
});
