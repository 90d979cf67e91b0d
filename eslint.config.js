import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'var/', 'coverage/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // Code that runs in the browser: DOM globals, and no Node module or Node-only Rampart code.
    files: ['src/client/browser/**', 'examples/bank/web/src/**', 'test/browser/harness/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Browser code cannot import Node modules.' },
            {
              group: [
                '**/signature/algorithms.js',
                '**/signature/content-digest.js',
                '**/signature/sign.js',
                '**/signature/verify.js',
                '**/signature/index.js',
                '**/session/**',
                '**/client/rampart-client.js',
                '**/client/index.js',
              ],
              message: 'This module imports node:crypto; use src/client/browser instead.',
            },
          ],
        },
      ],
    },
  },
);
