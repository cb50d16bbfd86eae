// Lint: type-aware rules that catch what costs money in a payment system —
// floating and misused promises, unsafe any — plus the import directions of
// DESIGN §3 (see the `boundaries` table below).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Who may import whom (DESIGN §3). A folder may import itself and the folders listed.
const boundaries = {
  protocol: [],
  'settlement-core': ['protocol'],
  hardware: ['protocol'],
  gateway: ['settlement-core', 'protocol'],
  'firmware-hosts': ['hardware', 'protocol'],
  sim: ['hardware', 'firmware-hosts', 'protocol'],
};
const allFolders = ['protocol', 'settlement-core', 'gateway', 'hardware', 'firmware-hosts', 'sim', 'cli'];

const boundaryConfigs = Object.entries(boundaries).map(([folder, allowed]) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: allFolders
        .filter((other) => other !== folder && !allowed.includes(other))
        .map((other) => ({
          group: [`**/${other}/*`, `**/${other}`, `#${other}/*`],
          message: `${folder}/ may not import ${other}/ (DESIGN §3: ${folder} may import ${allowed.join(', ') || 'nothing of ours'}).`,
        })),
    }],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', 'docs/**', 'cli/bin.mjs', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { files: ['eslint.config.js', 'vitest.config.ts'], ...tseslint.configs.disableTypeChecked },
  // The dashboard page runs in the browser as plain JS (no build step): linted without types, with the browser globals it uses.
  {
    files: ['gateway/dashboard/page/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: Object.fromEntries(['document', 'EventSource', 'fetch', 'FormData', 'CSS', 'setTimeout'].map((name) => [name, 'readonly'])),
    },
  },
  ...boundaryConfigs,
);
