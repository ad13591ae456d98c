import js from '@eslint/js';
import type { Linter } from 'eslint';
import { defineConfig, globalIgnores } from 'eslint/config';
import lit from 'eslint-plugin-lit';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// eslint-plugin-lit's flat preset is typed loosely; take its rule table only.
const litRules = (lit.configs?.['flat/recommended'] as { rules?: Linter.RulesRecord } | undefined)?.rules ?? {};

export default defineConfig(
  globalIgnores(['node_modules/', 'dist/', '.wrangler/', 'edge/worker-configuration.d.ts', 'model-shards/training/', 'coverage/', '.scratch/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  { files: ['web/**/*.ts'], plugins: { lit }, rules: litRules, languageOptions: { globals: globals.browser } },
  { files: ['workers/**/*.ts', 'test/browser/*.worker.ts'], languageOptions: { globals: globals.worker } },
  // Command-line scripts and test runners report to the terminal.
  { files: ['scripts/**/*.ts', 'test/**/run.ts', 'render/**/*.ts'], languageOptions: { globals: globals.node }, rules: { 'no-console': 'off' } },
  { files: ['test/browser/**/*.test.ts'], languageOptions: { globals: { ...globals.browser, ...globals.mocha } } },
);
