/** docs/dashboard.md lists every dashboard error code and every named limit. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardErrors } from '../../../gateway/dashboard/errors.ts';
import { defaultDashboardLimits } from '../../../gateway/dashboard/limits.ts';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/dashboard.md'), 'utf8');

describe('docs/dashboard.md', () => {
  it.each(Object.entries(dashboardErrors))('lists the error code %s with its status %i', (code, status) => {
    expect(doc).toContain(`| \`${code}\` | ${status} |`);
  });

  it.each(Object.entries(defaultDashboardLimits))('documents the limit %s with its default %i', (name: string, value: number) => {
    expect(doc).toContain(`| \`${name}\` | ${value.toLocaleString('en-US')} |`);
  });
});
