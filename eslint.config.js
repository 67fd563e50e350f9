// Lint: type-aware rules that catch what the compiler does not. A promise nobody awaits or
// catches is an unhandled rejection waiting to happen, and in Node that ends the process: one bad
// request must never take a gateway down, so floating and misused promises fail CI.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.kafka/**', 'bench/results/**', 'services/client/dist/**'] },
  {
    // The scripts are JavaScript checked by tsconfig.json (checkJs), so they get the same rules with
    // the same type information; this file is outside that project and gets a default one.
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
