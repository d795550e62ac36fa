// ESM all the way: @actions/core 3 and @actions/github 9 ship only ESM, so jest runs with
// --experimental-vm-modules (set by `npm test`) and ts-jest emits ESM.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }]
  },
  roots: ['<rootDir>/__tests__', '<rootDir>/forwarder'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 60000,
  clearMocks: true
}
