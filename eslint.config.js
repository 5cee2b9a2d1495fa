import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Imports in src/ run only downward: entry (main, inputs, index, deploy/) → modes (drift, stacks, unlock) →
// report → phases (backend, terraform, frontend, health) → shared modules and clients. A phase
// never imports report/, a mode, the entry, or another phase (a type from inputs is allowed: the
// entry composes the configuration every phase reads).
const PHASES = ['backend', 'terraform', 'frontend', 'health']
const MODES = ['drift', 'stacks', 'unlock']
const SHARED = [
  'src/errors.ts',
  'src/process.ts',
  'src/child-env.ts',
  'src/log.ts',
  'src/format.ts',
  'src/root-module.ts',
  'src/hcl.ts',
  'src/workspace-paths.ts',
  'src/json.ts',
  'src/input-reader.ts',
  'src/aws/**',
  'src/github/**'
]
const dirs = names => names.flatMap(n => [`../${n}`, `../${n}/*`, `./${n}`, `./${n}/*`])
// src/deploy/ holds the deploy's stages: entry level, like main.ts that runs them. (Not './deploy':
// inside a folder that is a sibling module, such as frontend/deploy.ts.)
const entry = ['../main', '../index', './main', './index', '../deploy', '../deploy/*', './deploy/*']
const restrict = (groups, message, allowTypeImports = false) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ group: groups, message, ...(allowTypeImports && { allowTypeImports }) }] }
  ]
})
const layers = [
  ...PHASES.map(phase => ({
    files: [`src/${phase}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...dirs(['report', ...MODES, ...PHASES.filter(p => p !== phase)]), ...entry],
              message: `src/${phase}/ is a phase: it returns data; report/ renders it, the entry composes phases`
            },
            {
              group: ['../inputs', './inputs'],
              message: 'a phase takes its configuration as a type; values come from the entry',
              allowTypeImports: true
            }
          ]
        }
      ]
    }
  })),
  {
    files: ['src/report/**/*.ts'],
    rules: restrict(
      [...dirs(MODES), ...entry],
      'report/ renders what phases return; it does not run modes'
    )
  },
  {
    files: SHARED,
    rules: restrict(
      [...dirs(['report', ...MODES, ...PHASES]), ...entry, '../inputs', './inputs'],
      'shared modules and clients import only other shared modules'
    )
  }
]

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '**/.terraform/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' }
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
      ],
      'no-control-regex': 'off'
    }
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' }
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  ...layers,
  // Issue 18: no file over 400 lines, no function over 80, anywhere in src/; a deliberate exception
  // takes an eslint-disable comment saying why.
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false }]
    }
  }
)
