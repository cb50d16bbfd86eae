import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// One vitest project per top-level folder: test/<folder>/ mirrors <folder>/.
const testRoot = join(import.meta.dirname, 'test');
const folders = readdirSync(testRoot).filter((name) => statSync(join(testRoot, name)).isDirectory());

export default defineConfig({
  test: {
    projects: folders.map((name) => ({
      extends: true,
      test: { name, include: [`test/${name}/**/*.test.ts`] },
    })),
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
